/** @odoo-module **/
/**
 * Issue #13 tours, run by tests/test_tours.py (TestManagersDayTours): a
 * manager exits a member with a reason from the list; an approver rejects a
 * cycle with a reason; the user who generated the entitlements is told why
 * there is no Approve button.
 */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

tours.add("g2p_br_exit_member_tour", {
    test: true,
    steps: () => [
        {
            content: "The membership says why its criteria hold",
            trigger: ".o_br_eligibility:contains(Region)",
            isCheck: true,
        },
        {
            content: "Exit the member",
            trigger: ".o_statusbar_buttons button:contains(Exit)",
        },
        {
            content: "The dialog says who will leave",
            trigger: ".o_br_lifecycle_message:contains(1 member)",
            isCheck: true,
        },
        {
            content: "Choose the reason",
            trigger: "div[name=exit_reason_id] input",
            run: "text Deceased",
        },
        {
            content: "Deceased",
            trigger: ".o-autocomplete--dropdown-item a:contains(Deceased)",
            in_modal: false,
        },
        {
            content: "A note",
            trigger: "div[name=note] textarea",
            run: "text Reported by the village chief",
        },
        {
            content: "Confirm",
            trigger: "button[name=action_confirm]",
        },
        {
            content: "The member has exited",
            trigger: ".o_arrow_button_current:contains(Exited)",
            in_modal: false,
            isCheck: true,
        },
        {
            content: "The reason is on the form",
            trigger: "div[name=exit_reason]:contains(Deceased: Reported by the village chief)",
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_reject_cycle_tour", {
    test: true,
    steps: () => [
        {
            content: "The approver's Reject button",
            trigger: ".o_statusbar_buttons button:contains(Reject)",
        },
        {
            content: "The confirmation counts the entitlements",
            trigger: ".o_br_confirm_count:contains(2)",
            isCheck: true,
        },
        {
            content: "A reason",
            trigger: "div[name=reason] textarea",
            run: "text Amounts are wrong",
        },
        {
            content: "Confirm",
            trigger: "button[name=action_confirm]",
        },
        {
            content: "The cycle is back to draft",
            trigger: ".o_arrow_button_current:contains(Draft)",
            in_modal: false,
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_four_eyes_explained_tour", {
    test: true,
    steps: () => [
        {
            content: "The generator is told why they cannot approve",
            trigger: ".o_br_approve_blocked:contains(Four-eyes)",
            isCheck: true,
        },
        {
            content: "and sees no Approve button",
            trigger: ".o_statusbar_buttons:not(:has(button:contains(Approve)))",
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_mark_failed_tour", {
    test: true,
    steps: () => [
        {
            content: "Mark the payment failed",
            trigger: ".o_statusbar_buttons button:contains(Mark Failed)",
        },
        {
            content: "The provider's reason",
            trigger: "div[name=reason] textarea",
            run: "text Account closed",
        },
        {
            content: "Confirm",
            trigger: "button[name=action_confirm]",
        },
        {
            content: "The payment has failed, with its reason",
            trigger: "div[name=failure_reason]:contains(Account closed)",
            in_modal: false,
            isCheck: true,
        },
        {
            content: "Retry is offered",
            trigger: ".o_statusbar_buttons button:contains(Retry)",
            isCheck: true,
        },
    ],
});

tours.add("g2p_br_program_assistant_tour", {
    test: true,
    steps: () => [
        {
            content: "Name",
            trigger: "div[name=name] input",
            run: "text Assisted Grant",
        },
        {
            content: "Code",
            trigger: "div[name=code] input",
            run: "text ASSIST",
        },
        {
            content: "Next: eligibility",
            trigger: "button[name=action_next]",
        },
        {
            content: "The live count of the empty rule",
            trigger: ".o_br_assistant_count",
            isCheck: true,
        },
        {
            content: "Everyone of the target is eligible (confirmed)",
            trigger: "div[name=rule_matches_all_confirmed] input",
        },
        {
            content: "Next: entitlement",
            trigger: "button[name=action_next]",
        },
        {
            content: "Base amount",
            trigger: "div[name=base_amount] input",
            run: "text 15",
        },
        {
            content: "Next: cycles",
            trigger: "button[name=action_next]",
        },
        {
            content: "Next: approval",
            trigger: "button[name=action_next]",
            extra_trigger: "div[name=cycle_frequency]",
        },
        {
            content: "Four-eyes is on",
            trigger: "div[name=four_eyes] input:checked",
            isCheck: true,
        },
        {
            content: "Next: review",
            trigger: "button[name=action_next]",
        },
        {
            content: "Create",
            trigger: "button[name=action_create]",
        },
        {
            content: "The program form opens, active",
            trigger: ".o_form_view .o_arrow_button_current:contains(Active)",
            in_modal: false,
            isCheck: true,
        },
    ],
});
