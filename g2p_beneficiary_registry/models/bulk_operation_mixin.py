# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.job import identity_exact
from odoo.addons.queue_job.utils import must_run_without_delay

from ..utils import audit_context, workflow

BULK_THRESHOLD_PARAM = "g2p_beneficiary_registry.bulk_async_threshold"
DEFAULT_BULK_THRESHOLD = 10000
# Workflow-owned fields of the models that run bulk operations: the busy marker
# is the runner's; clearing it by hand would let a second operation run beside
# the first.
BUSY_FIELDS = {
    "busy_job_id": "it is set while a background job runs.",
    "busy_job_uuid": "it is set while a background job runs.",
}


class G2pBrBulkOperationMixin(models.AbstractModel):
    """Run a bulk operation inline when it is small, as a queue job otherwise.

    While the job is queued or running, the record is marked busy: the UI shows
    a banner and refuses to start another bulk operation on it.
    """

    _name = "g2p.br.bulk.operation.mixin"
    _description = "Beneficiary Registry Bulk Operation Runner"

    busy_job_id = fields.Many2one(
        "queue.job",
        string="Background Job",
        readonly=True,
        copy=False,
        ondelete="set null",
    )
    busy_job_state = fields.Selection(related="busy_job_id.state", string="Job State")
    # Marks a job that has no queue.job record (yet): set only when the job
    # could not be linked through busy_job_id (e.g. jobs trapped in tests).
    busy_job_uuid = fields.Char(readonly=True, copy=False)
    is_busy = fields.Boolean(compute="_compute_is_busy")

    @api.depends("busy_job_id.state", "busy_job_uuid")
    def _compute_is_busy(self):
        for rec in self:
            if rec.busy_job_id:
                rec.is_busy = rec.busy_job_state in (
                    "wait_dependencies",
                    "pending",
                    "enqueued",
                    "started",
                )
            else:
                rec.is_busy = bool(rec.busy_job_uuid)

    @api.model
    def _bulk_threshold(self):
        value = self.env["ir.config_parameter"].sudo().get_param(BULK_THRESHOLD_PARAM)
        return int(value) if value else DEFAULT_BULK_THRESHOLD

    def _check_bulk_access(self, model, operation):
        """The set-based SQL of a bulk operation bypasses the ORM's access
        checks: check that the user may ``operation`` records of ``model`` and
        write on the record the operation runs on."""
        self.env[model].check_access_rights(operation)
        self.check_access_rights("write")
        self.check_access_rule("write")

    def _count_sql(self, from_where):
        """COUNT(*) of a ``FROM ... WHERE ...`` fragment: the size of a bulk
        operation, counted with the condition the operation runs."""
        self.env.flush_all()
        self.env.cr.execute(SQL("SELECT COUNT(*) %s", from_where))
        return self.env.cr.fetchone()[0]

    def _run_bulk(self, method, size, description):
        """Call ``self.<method>()`` now, or enqueue it when ``size`` rows are
        above the threshold. Return the method's result, or the job."""
        self.ensure_one()
        if self.is_busy:
            raise UserError(
                _(
                    "%(name)s is busy with a background job; wait until it is done.",
                    name=self.display_name,
                )
            )
        if (
            size <= self._bulk_threshold()
            or self.env.context.get("job_uuid")
            or must_run_without_delay(self.env)
        ):
            return getattr(self, method)()
        # the channel (root.g2p_br) is the job function's, see
        # data/queue_job_data.xml
        delayable = self.with_delay(
            description=description,
            identity_key=identity_exact,
        )
        job = delayable._run_bulk_job(method)
        # with_delay() returns the stored Job, or the queue.job record of an
        # identical job already queued (identity key); a trapped Job (tests)
        # has no record: keep its uuid as the busy marker.
        record = job if isinstance(job, models.BaseModel) else job.db_record()
        if record:
            workflow(self).write({"busy_job_id": record.id, "busy_job_uuid": False})
        else:
            workflow(self).write({"busy_job_id": False, "busy_job_uuid": job.uuid})
        self.message_post(
            body=_(
                "%(op)s queued as a background job (%(n)s rows).",
                op=description,
                n=size,
            )
        )
        return job

    def _run_bulk_job(self, method):
        """Entry point of the queue job: the operation itself, then unmark busy."""
        with audit_context(self.env, path="job"):
            result = getattr(self, method)()
        workflow(self).write({"busy_job_uuid": False})
        return str(result)
