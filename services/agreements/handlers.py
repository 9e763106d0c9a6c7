"""Agreement use cases: resolve what the rules need (partners, parent KB, files, today), let the
domain decide, append one commit."""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping

from shared.application import Clock, CommandContext, Repository, StreamNotFound
from shared.domain import DomainError, NewEvent, Refusal

from services.agreements.domain import Agreement, new_agreement_id
from services.agreements.files import AttachmentStore
from services.agreements.partner_replica import PartnerDirectory


class AgreementHandlers:
    """The agreements service's application layer."""

    def __init__(self, repository: Repository[Agreement], partners: PartnerDirectory, files: AttachmentStore,
                 clock: Clock, timezone: str = "Asia/Jakarta"):
        self.repository = repository
        self.partners = partners
        self.files = files
        self.clock = clock
        self.timezone = timezone

    def today(self) -> date:
        """The date in the region's time zone (agreement dates are local dates)."""
        return self.clock.today(self.timezone)

    # ------------------------------------------------------------ lookups

    def _partner_views(self, partner_ids) -> list[dict]:
        views, missing = self.partners.views(partner_ids)
        if missing:
            raise DomainError("partner_not_found", f"unknown partner(s): {', '.join(missing)}",
                              fields={"partner_ids": [f"unknown: {m}" for m in missing]})
        return views

    def _linked(self, agreement_id: str | None, field: str) -> Agreement | None:
        if not agreement_id:
            return None
        try:
            return self.repository.load(agreement_id)
        except StreamNotFound:
            raise DomainError(f"{field}_not_found", f"{agreement_id} does not exist",
                              fields={field: [f"unknown agreement {agreement_id}"]}) from None

    def get(self, agreement_id: str, version: int | None = None) -> Agreement:
        return self.repository.load(agreement_id, to_version=version)

    # ------------------------------------------------------------ commands

    def draft(self, data: Mapping[str, Any], ctx: CommandContext) -> Agreement:
        """Draft a new agreement (an extension when ``extends_agreement_id`` is given)."""
        data = dict(data)
        partners = self._partner_views(data.pop("partner_ids"))
        parent_kb = self._linked(data.pop("parent_kb_id", None), "parent_kb_id")
        extends = self._linked(data.pop("extends_agreement_id", None), "extends_agreement_id")
        agreement = Agreement(new_agreement_id())
        new_events = agreement.draft(role=ctx.actor.role, partners=partners, parent_kb=parent_kb, extends=extends,
                                     **data)
        self.repository.save(agreement, new_events, ctx)
        return agreement

    def run(self, agreement_id: str, expected: int | None, ctx: CommandContext,
            decide: Callable[[Agreement], list[NewEvent]]) -> Agreement:
        """Load, decide, append; the generic command path."""
        agreement = self.repository.load(agreement_id, expected_version=expected)
        self.repository.save(agreement, decide(agreement), ctx)
        return agreement

    def edit_draft(self, agreement_id, expected, changes, ctx):
        changes = dict(changes)
        partner_ids = changes.pop("partner_ids", None)
        parent_kb = self._linked(changes.pop("parent_kb_id", None), "parent_kb_id")
        partners = self._partner_views(partner_ids) if partner_ids is not None else None
        return self.run(agreement_id, expected, ctx, lambda a: a.edit_draft(
            role=ctx.actor.role, changes=changes, partners=partners, parent_kb=parent_kb))

    def submit(self, agreement_id, expected, ctx):
        def decide(a: Agreement):
            return a.submit(role=ctx.actor.role, partners=self._partner_views(a.partner_ids),
                            parent_kb=self._linked(a.parent_kb_id, "parent_kb_id"))
        return self.run(agreement_id, expected, ctx, decide)

    def sign(self, agreement_id, expected, data, ctx):
        def decide(a: Agreement):
            return a.sign(role=ctx.actor.role, parent_kb=self._linked(a.parent_kb_id, "parent_kb_id"), **data)
        return self.run(agreement_id, expected, ctx, decide)

    def amend(self, agreement_id, expected, data, ctx):
        def decide(a: Agreement):
            return a.amend(role=ctx.actor.role, parent_kb=self._linked(a.parent_kb_id, "parent_kb_id"), **data)
        return self.run(agreement_id, expected, ctx, decide)

    def simple(self, command: str, agreement_id, expected, data, ctx, dated: str | None = None):
        """Commands that need only the role, the body and (``dated``) today's date."""
        args = dict(data)
        if dated and args.get(dated) is None:
            args[dated] = self.today()
        return self.run(agreement_id, expected, ctx,
                        lambda a: getattr(a, command)(role=ctx.actor.role, **args))

    def work_plan(self, command: str, agreement_id, expected, data, ctx):
        """Activity commands: scoped to the actor's OPD."""
        return self.run(agreement_id, expected, ctx,
                        lambda a: getattr(a, command)(role=ctx.actor.role, opd=ctx.actor.opd, **data))

    def file_report(self, agreement_id, expected, data, ctx):
        data = dict(data)
        evidence = [self._file_meta(fid, "evidence") for fid in data.pop("evidence", [])]
        data["filed_on"] = data.get("filed_on") or self.today()
        return self.run(agreement_id, expected, ctx, lambda a: a.file_report(
            role=ctx.actor.role, opd=ctx.actor.opd, evidence=evidence, **data))

    def _file_meta(self, file_id: str, field: str) -> dict:
        meta = self.files.meta(file_id)
        if meta is None:
            raise DomainError("file_not_found", f"{file_id} was not uploaded", fields={field: [f"unknown {file_id}"]})
        return meta

    def attach_document(self, agreement_id, expected, kind, upload, ctx):
        """Store the upload, then record it; the file is removed again if the command is refused."""
        meta = self.files.put(upload["stream"], upload["filename"], upload["media_type"], ctx.actor.sub)
        try:
            return self.run(agreement_id, expected, ctx,
                            lambda a: a.attach_document(role=ctx.actor.role, kind=kind, file=meta))
        except Exception:
            self.files.delete(meta["file_id"])
            raise

    def attachment(self, agreement_id: str, file_id: str):
        """Download an attachment of this agreement after checking it against the recorded hash."""
        agreement = self.get(agreement_id)
        recorded = [d["file"] for d in agreement.snapshot()["documents"]]
        recorded += [e for a in agreement.snapshot()["activities"] for r in a.get("reports", [])
                     for e in r.get("evidence", [])]
        match = next((f for f in recorded if f["file_id"] == file_id), None)
        if match is None:
            raise DomainError("file_not_found", f"{file_id} is not attached to {agreement_id}", kind=Refusal.NOT_FOUND)
        return self.files.get_verified(file_id, match["sha256"])
