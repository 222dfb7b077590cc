/** @odoo-module **/
/**
 * Browser tours of the Beneficiary Registry, run by tests/test_tours.py.
 * The data they rely on (beneficiaries of region TOURLAND, users) is created
 * by the test; references of the disbursements are set by the test too.
 */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

/** Paste multi-line text in a textarea (the "text" action takes one line). */
function paste(text) {
    return function () {
        const textarea = this.$anchor[0];
        textarea.value = text;
        textarea.dispatchEvent(new InputEvent("input", { bubbles: true }));
        textarea.dispatchEvent(new Event("change", { bubbles: true }));
    };
}

const CSV_HEADER = "reference,status,date,failure_reason\n";

function confirmBulk(count) {
    return [
        {
            content: `The confirmation says ${count} records will change`,
            trigger: `.o_br_confirm_count:contains(${count})`,
            isCheck: true,
        },
        {
            content: "Confirm",
            trigger: "button[name=action_confirm]",
        },
        {
            content: "The dialog closes",
            trigger: "body:not(:has(.o_br_confirm_count))",
            in_modal: false,
            isCheck: true,
        },
    ];
}

tours.add("g2p_br_manager_program_tour", {
    test: true,
    steps: () => [
        {
            content: "Open the app switcher",
            trigger: ".o_navbar_apps_menu button",
        },
        {
            content: "Open the Beneficiary Registry app",
            trigger: '.o_app[data-menu-xmlid="g2p_beneficiary_registry.menu_br_root"]',
        },
        {
            content: "The program kanban is shown; create a program",
            trigger: ".o_br_program_kanban ~ * .o-kanban-button-new, .o-kanban-button-new",
            extra_trigger: ".o_br_program_kanban",
        },
        {
            content: "Name",
            trigger: "div[name=name] input",
            run: "text Tourland Cash Grant",
        },
        {
            content: "Code",
            trigger: "div[name=code] input",
            run: "text TOUR",
        },
        {
            content: "Entitlement rule tab",
            trigger: "a.nav-link:contains(Entitlement Rule)",
        },
        {
            content: "Base amount",
            trigger: "div[name=base_amount] input",
            run: "text 100",
        },
        {
            content: "Eligibility tab",
            trigger: "a.nav-link:contains(Eligibility)",
        },
        {
            content: "Set the eligibility rule (domain editor, code view)",
            trigger: "div[name=eligibility_domain] textarea",
            run: "text [('region_code', '=', 'TOURLAND')]",
        },
        {
            content: "The live count shows the 3 matching beneficiaries",
            trigger: ".o_br_eligible_count div[name=eligible_count]:contains(3)",
            isCheck: true,
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
        },
        {
            content: "Activate",
            trigger: ".o_form_saved button[name=action_activate]",
        },
        {
            content: "Enroll eligible beneficiaries",
            trigger: ".o_statusbar_buttons button:contains(Enroll Eligible)",
            extra_trigger: ".o_arrow_button_current:contains(Active)",
        },
        ...confirmBulk(3),
        {
            content: "The members smart button counts 3 enrolled",
            trigger: "button[name=action_open_memberships] .o_stat_value:contains(3)",
            isCheck: true,
        },
        {
            content: "Create the next cycle",
            trigger: ".o_statusbar_buttons button[name=action_create_next_cycle]",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
            in_modal: false,
        },
        {
            content: "The cycle form opens; generate the entitlements",
            trigger: ".o_statusbar_buttons button:contains(Generate Entitlements)",
            extra_trigger: ".o_form_view .o_br_cycle_totals",
        },
        ...confirmBulk(3),
        {
            content: "3 entitlements",
            trigger: "button[name=action_open_entitlements] .o_stat_value:contains(3)",
            isCheck: true,
        },
        {
            content: "300 to approve",
            trigger: "div[name=total_proposed]:contains(300)",
            isCheck: true,
        },
        {
            content: "Send them to approval",
            trigger: ".o_statusbar_buttons button:contains(Send to Approval)",
        },
        ...confirmBulk(3),
        {
            content: "The cycle waits for approval",
            trigger: ".o_arrow_button_current:contains(To Approve)",
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_approver_tour", {
    test: true,
    steps: () => [
        {
            content: "The approver sees the cycle waiting for approval",
            trigger: ".o_arrow_button_current:contains(To Approve)",
            isCheck: true,
        },
        {
            content: "A manager's buttons are hidden from the approver",
            trigger: ".o_statusbar_buttons:not(:has(button:contains(Generate Entitlements)))",
            isCheck: true,
        },
        {
            content: "Approve",
            trigger: ".o_statusbar_buttons button:contains(Approve)",
        },
        ...confirmBulk(3),
        {
            content: "The cycle is approved",
            trigger: ".o_arrow_button_current:contains(Approved)",
            isCheck: true,
        },
        {
            content: "300 entitled",
            trigger: "div[name=total_entitled]:contains(300)",
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_import_status_tour", {
    test: true,
    steps: () => [
        {
            content: "The disbursements list: open the buttons next to New",
            trigger: ".o_control_panel_main_buttons .dropdown-toggle",
            extra_trigger: ".o_list_view .o_data_row:contains(TOUR-PAY-1)",
        },
        {
            content: "Import the provider's statuses",
            trigger: ".o_control_panel_collapsed_create button:contains(Import Statuses)",
        },
        {
            content: "Paste a CSV with a wrong reference",
            trigger: "div[name=csv_text] textarea",
            run: paste(
                CSV_HEADER +
                    "TOUR-PAY-1,paid,2026-11-20 10:00:00,\n" +
                    "TOUR-PAY-2,paid,2026-11-20 10:00:00,\n" +
                    "TOUR-PAY-404,paid,2026-11-20 10:00:00,\n"
            ),
        },
        {
            content: "Import",
            trigger: "button[name=action_import]",
        },
        {
            content: "Nothing is imported, and the row is reported",
            trigger: ".o_br_import_summary:contains(Nothing was imported)",
            isCheck: true,
        },
        {
            content: "Row 4, reference and message",
            trigger:
                ".o_data_row:contains(TOUR-PAY-404):contains(No disbursement with this reference) td[name=row]:contains(4)",
            isCheck: true,
        },
        {
            content: "Another file",
            trigger: "button[name=action_reset]",
        },
        {
            content: "Paste the corrected CSV",
            trigger: "div[name=csv_text] textarea",
            run: paste(
                CSV_HEADER +
                    "TOUR-PAY-1,paid,2026-11-20 10:00:00,\n" +
                    "TOUR-PAY-2,paid,2026-11-20 10:00:00,\n" +
                    "TOUR-PAY-3,paid,2026-11-20 10:00:00,\n"
            ),
        },
        {
            content: "Import",
            trigger: "button[name=action_import]",
        },
        {
            content: "3 rows applied",
            trigger: ".o_br_import_summary:contains(3 rows applied)",
            isCheck: true,
        },
        {
            content: "Open the entitlements",
            trigger: "button[name=action_open_entitlements]",
        },
        {
            content: "They are fully disbursed",
            trigger:
                ".o_list_view .o_data_row:contains(Fully Disbursed) ~ .o_data_row:contains(Fully Disbursed) ~ .o_data_row:contains(Fully Disbursed)",
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_program_access_tour", {
    test: true,
    steps: () => [
        {
            content: "Opening the other manager's program shows an access error",
            trigger: ".modal-title:contains(Access Error)",
            isCheck: true,
        },
        {
            content: "Close the error",
            trigger: ".modal-footer .btn-primary",
        },
        {
            content: "Open the app switcher",
            trigger: ".o_navbar_apps_menu button",
        },
        {
            content: "Open the Beneficiary Registry app",
            trigger: '.o_app[data-menu-xmlid="g2p_beneficiary_registry.menu_br_root"]',
        },
        {
            content: "Only the own program is listed",
            trigger:
                ".o_kanban_renderer:has(.o_kanban_record:contains(Tour Program A)):not(:has(.o_kanban_record:contains(Tour Program B)))",
            isCheck: true,
        },
    ],
});
