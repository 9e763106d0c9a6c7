"""Agreement use cases: resolve what the rules need (partners, parent KB, files, today), let the
domain decide, append one commit.

One method per command (``commands.py``), named by its verb like the domain method it calls, so
``submit`` leads from the route to ``Agreement.submit``. Each is the same three steps: load the
stream at the client's expected version, call the domain with explicit keyword arguments, save.
Dates a command leaves out are filled here, from the server clock in the region's time zone.

Extensions need two lookups across streams. The old agreement's finalized final evaluations come
from the evaluation replica (``EvaluationDirectory``). "One live extension per agreement" is a
claim on the old agreement in the service's own ``ExtensionIndex``, taken before the extension's
first event is appended (and again at submission, for drafts older than the index). Of two
concurrent drafts only one gets the claim (each claim is an insert of the next generation on a
unique key). A holder that is REJECTED or CANCELLED is taken over by the next draft; so is one
whose stream was never stored, once ``CLAIM_GRACE`` has passed — until then it is a draft being
appended, not a crash.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import BinaryIO

from shared.application import Clock, CommandContext, Repository, StreamNotFound
from shared.domain import DomainError, NewEvent, Refusal
from shared.vocabularies import Vocabularies, default as default_vocabularies

from services.agreements.commands import (
    AcknowledgeParentChange, ActivateAgreement, AddActivity, ApproveAddendumCentral, ApproveAddendumDprd, ApproveCentral, ApproveDprd,
    AttachDocument, CancelAgreement, DraftAddendum, DraftAgreement, EditAddendum, EditDraft, ExpireAgreement,
    FileReport, RaiseExpiryReminder, RecordAddendumReview, RecordParentChange, RecordReview, RejectAddendum, RejectAgreement,
    RemoveActivity, ReturnForRevision, SignAddendum, SignAgreement, StartReview, SubmitAddendum, SubmitAgreement,
    TerminateAgreement, UpdateActivity, WaiveFinalEvaluation, WithdrawAddendum,
)
from services.agreements.domain import Agreement, new_agreement_id, rules
from services.agreements.ports import (
    AttachmentStore, EvaluationDirectory, ExtensionIndex, PartnerDirectory, StoredFile,
)

# How long a claim whose extension stream does not exist yet counts as a draft being appended
# (milliseconds in practice) rather than one lost to a crash between the claim and the append.
CLAIM_GRACE = timedelta(minutes=1)


class AgreementHandlers:
    """The agreements service's application layer."""

    def __init__(self, repository: Repository[Agreement], partners: PartnerDirectory, files: AttachmentStore,
                 clock: Clock, timezone: str = "Asia/Jakarta", *, evaluations: EvaluationDirectory,
                 extensions: ExtensionIndex, upload_ttl: timedelta = timedelta(hours=24),
                 max_pending_uploads: int = 50, vocabularies: Vocabularies | None = None):
        self.repository = repository
        self.partners = partners
        self.evaluations = evaluations
        self.extensions = extensions
        self.files = files
        self.clock = clock
        self.timezone = timezone
        self.upload_ttl = upload_ttl
        self.max_pending_uploads = max_pending_uploads
        self.vocabularies = vocabularies or default_vocabularies()

    def today(self) -> date:
        """The date in the region's time zone (agreement dates are local dates)."""
        return self.clock.today(self.timezone)

    def _or_today(self, day: date | None) -> date:
        """The date of an act a command gives, else today: the one place a command's missing date is
        filled (the domain then bounds it by today and the previous step)."""
        return day if day is not None else self.today()

    def _scheduler_day(self, on: date | None, ctx: CommandContext) -> date:
        """The day activation, expiry and reminders are judged on: the server's, or the scheduler's."""
        return rules.check_scheduler_day(on, ctx.actor.role, self.today())

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

    def _holds(self, claim: dict) -> bool:
        """Whether the extension holding ``claim`` is live: stored and not REJECTED or CANCELLED, or
        not stored yet but claimed within ``CLAIM_GRACE`` (being appended right now)."""
        holder = claim["extension_id"]
        if self.repository.store.version(holder) == 0:
            return self.clock.now() - claim["claimed_at"] < CLAIM_GRACE
        return self.repository.load(holder).status not in rules.DEAD

    def _claim_extension(self, old_id: str, extension_id: str) -> None:
        """Make ``extension_id`` the one live extension of ``old_id``, or refuse (``one_live_extension``)."""
        for _attempt in range(10):  # each round ends, or loses a race for the next generation
            claim = self.extensions.get(old_id)
            if claim is not None:
                if claim["extension_id"] == extension_id:
                    return
                if self._holds(claim):
                    rules.check_one_live_extension(old_id, claim["extension_id"])
            generation = claim["generation"] + 1 if claim is not None else 1
            if self.extensions.insert(old_id, generation, extension_id, self.clock.now()):
                return
        raise DomainError("concurrent_modification", f"the extension of {old_id} keeps changing; try again",
                          kind=Refusal.CONFLICT)

    def _evidence(self, file_id: str, agreement_id: str, ctx: CommandContext) -> dict:
        """An uploaded file a report may cite: the uploader's own pending upload, or a file of this
        agreement already (a report filed again); never another agreement's file."""
        meta, provenance = self.files.meta(file_id), self.files.provenance(file_id)
        if meta is None or provenance is None:
            raise DomainError("file_not_found", f"{file_id} was not uploaded", fields={"evidence": [f"unknown {file_id}"]})
        if provenance["agreement_id"] not in (None, agreement_id):
            raise DomainError("evidence_of_another_agreement", f"{file_id} belongs to another agreement",
                              kind=Refusal.CONFLICT, fields={"evidence": [f"{file_id} belongs to another agreement"]})
        if provenance["agreement_id"] is None and provenance["uploaded_by"] != ctx.actor.sub:
            raise DomainError("evidence_not_yours", f"{file_id} was uploaded by someone else",
                              kind=Refusal.FORBIDDEN, fields={"evidence": [f"{file_id} is not your upload"]})
        return meta

    def upload_evidence(self, stream: BinaryIO, filename: str, media_type: str, ctx: CommandContext) -> dict:
        """Store report evidence as the uploader's pending file, within their quota of uncited uploads;
        it belongs to an agreement once a report cites it, and expires if none does."""
        if self.files.pending_count(ctx.actor.sub) >= self.max_pending_uploads:
            raise DomainError("upload_quota_exceeded",
                              f"{self.max_pending_uploads} uploads are waiting to be cited in a report; "
                              "cite them or wait until they expire", kind=Refusal.CONFLICT)
        return self.files.put(stream, filename, media_type, ctx.actor.sub, pending=True)

    def expire_uploads(self) -> int:
        """Delete evidence uploads no report cited within ``upload_ttl`` (the scheduler calls this)."""
        return self.files.expire_pending(self.clock.now() - self.upload_ttl)

    def get(self, agreement_id: str, version: int | None = None) -> Agreement:
        return self.repository.load(agreement_id, to_version=version)

    def attachment(self, agreement_id: str, file_id: str) -> StoredFile:
        """Download an attachment of this agreement after checking it against the recorded hash."""
        agreement = self.get(agreement_id)
        recorded = [d["file"] for d in agreement.snapshot()["documents"]]
        recorded += [e for a in agreement.snapshot()["activities"] for r in a.get("reports", [])
                     for e in r.get("evidence", [])]
        match = next((f for f in recorded if f["file_id"] == file_id), None)
        if match is None:
            raise DomainError("file_not_found", f"{file_id} is not attached to {agreement_id}", kind=Refusal.NOT_FOUND)
        return self.files.get_verified(file_id, match["sha256"])

    # ------------------------------------------------------------ the three steps

    def _load(self, agreement_id: str, expected: int | None) -> Agreement:
        """The agreement as of now; ``VersionMismatch`` when the client's ``expected`` version is stale."""
        return self.repository.load(agreement_id, expected_version=expected)

    def _save(self, agreement: Agreement, events: list[NewEvent], ctx: CommandContext) -> Agreement:
        self.repository.save(agreement, events, ctx)
        return agreement

    # ------------------------------------------------------------ drafting

    def draft(self, cmd: DraftAgreement, ctx: CommandContext) -> Agreement:
        """``DraftAgreement``: a new stream (an extension when ``extends_agreement_id`` is given)."""
        partners = self._partner_views(cmd.partner_ids)
        parent_kb = self._linked(cmd.parent_kb_id, "parent_kb_id")
        extends = self._linked(cmd.extends_agreement_id, "extends_agreement_id")
        agreement = Agreement(new_agreement_id())
        events = agreement.draft(
            role=ctx.actor.role, actor=ctx.actor.sub, category=cmd.category, document_kind=cmd.document_kind, title=cmd.title,
            partners=partners, start_date=cmd.start_date, end_date=cmd.end_date, lead_opd=cmd.lead_opd,
            urusan=cmd.urusan, burdens_public=cmd.burdens_public, funding=[dict(f) for f in cmd.funding],
            value=cmd.value, funding_scheme=cmd.funding_scheme, purpose=cmd.purpose, scope=cmd.scope,
            location=cmd.location, our_number=cmd.our_number, partner_number=cmd.partner_number,
            ksdd_type=cmd.ksdd_type, parent_kb=parent_kb, extends=extends,
            partner_successions=cmd.partner_successions, vocab=self.vocabularies)
        if extends is None:
            return self._save(agreement, events, ctx)
        self._claim_extension(extends.stream_id, agreement.stream_id)
        try:
            return self._save(agreement, events, ctx)
        except Exception:
            # Released only when nothing was stored: an append whose answer was lost keeps its claim.
            if self.repository.store.version(agreement.stream_id) == 0:
                self.extensions.release(extends.stream_id, agreement.stream_id)
            raise

    def edit_draft(self, cmd: EditDraft, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``EditDraft``: new partners and a new KB link are resolved before the domain sees them."""
        parent_kb = self._linked(cmd.parent_kb_id, "parent_kb_id")
        partners = self._partner_views(cmd.partner_ids) if cmd.partner_ids is not None else None
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.edit_draft(role=ctx.actor.role, actor=ctx.actor.sub, changes=dict(cmd.changes),
                                      partners=partners, parent_kb=parent_kb,
                                      extends=self._linked(agreement.extends_agreement_id, "extends_agreement_id"),
                                      vocab=self.vocabularies)
        return self._save(agreement, events, ctx)

    # ------------------------------------------------------------ workflow

    def submit(self, cmd: SubmitAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``SubmitAgreement``: the partners and the KB are checked again as they are now; an extension
        also against the agreement it extends and that one's finalized final evaluations."""
        agreement = self._load(cmd.agreement_id, expected)
        extends = self._linked(agreement.extends_agreement_id, "extends_agreement_id")
        finals = self.evaluations.finalized(extends.stream_id, rules.FINAL_PERIOD) if extends is not None else []
        events = agreement.submit(role=ctx.actor.role, partners=self._partner_views(agreement.partner_ids),
                                  parent_kb=self._linked(agreement.parent_kb_id, "parent_kb_id"), extends=extends,
                                  final_evaluations=finals, vocab=self.vocabularies)
        if extends is not None:
            self._claim_extension(extends.stream_id, agreement.stream_id)
        return self._save(agreement, events, ctx)

    def start_review(self, cmd: StartReview, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``StartReview``."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.start_review(role=ctx.actor.role), ctx)

    def return_for_revision(self, cmd: ReturnForRevision, ctx: CommandContext,
                            expected: int | None = None) -> Agreement:
        """``ReturnForRevision``."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.return_for_revision(role=ctx.actor.role, reason=cmd.reason), ctx)

    def record_review(self, cmd: RecordReview, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``RecordReview``: ``reviewed_on`` defaults to today; the reviewer is the token's subject (not the
        draft's author: segregation of duties)."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.record_review(role=ctx.actor.role, actor=ctx.actor.sub, recommended=cmd.recommended, notes=cmd.notes,
                                         reviewed_on=self._or_today(cmd.reviewed_on), today=self.today())
        return self._save(agreement, events, ctx)

    def approve_dprd(self, cmd: ApproveDprd, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``ApproveDprd``: ``approved_on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.approve_dprd(role=ctx.actor.role, approval_ref=cmd.approval_ref,
                                        approved_on=self._or_today(cmd.approved_on), today=self.today())
        return self._save(agreement, events, ctx)

    def approve_central(self, cmd: ApproveCentral, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``ApproveCentral``: ``approved_on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.approve_central(role=ctx.actor.role, approval_ref=cmd.approval_ref,
                                           approved_on=self._or_today(cmd.approved_on), today=self.today())
        return self._save(agreement, events, ctx)

    def sign(self, cmd: SignAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``SignAgreement``: ``signed_on`` defaults to today; a PKS's KB is checked as it is now."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.sign(
            role=ctx.actor.role, signatory_name=cmd.signatory_name, signatory_position=cmd.signatory_position,
            signed_on=self._or_today(cmd.signed_on), today=self.today(), power_of_attorney_ref=cmd.power_of_attorney_ref,
            partner_signatory_name=cmd.partner_signatory_name,
            partner_signatory_position=cmd.partner_signatory_position, our_number=cmd.our_number,
            partner_number=cmd.partner_number, parent_kb=self._linked(agreement.parent_kb_id, "parent_kb_id"),
            extends=self._linked(agreement.extends_agreement_id, "extends_agreement_id"))
        return self._save(agreement, events, ctx)

    def activate(self, cmd: ActivateAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``ActivateAgreement``: ``on`` defaults to today; a PKS's KB is checked as it is now."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.activate(role=ctx.actor.role, on=self._scheduler_day(cmd.on, ctx),
                                    parent_kb=self._linked(agreement.parent_kb_id, "parent_kb_id"))
        return self._save(agreement, events, ctx)

    def raise_expiry_reminder(self, cmd: RaiseExpiryReminder, ctx: CommandContext,
                              expected: int | None = None) -> Agreement:
        """``RaiseExpiryReminder`` (the scheduler's): ``on`` defaults to today; no event outside H-90."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.raise_expiry_reminder(role=ctx.actor.role, on=self._scheduler_day(cmd.on, ctx))
        return self._save(agreement, events, ctx)

    def expire(self, cmd: ExpireAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``ExpireAgreement``: ``on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.expire(role=ctx.actor.role, on=self._scheduler_day(cmd.on, ctx)), ctx)

    def terminate(self, cmd: TerminateAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``TerminateAgreement``: ``on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.terminate(role=ctx.actor.role, reason=cmd.reason, on=self._or_today(cmd.on),
                                     today=self.today(), reason_code=cmd.reason_code, vocab=self.vocabularies)
        return self._save(agreement, events, ctx)

    def reject(self, cmd: RejectAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``RejectAgreement``."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.reject(role=ctx.actor.role, reason=cmd.reason), ctx)

    def cancel(self, cmd: CancelAgreement, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``CancelAgreement``."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.cancel(role=ctx.actor.role, reason=cmd.reason), ctx)

    # ------------------------------------------------------------ addenda

    def draft_addendum(self, cmd: DraftAddendum, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``DraftAddendum``: a PKS's KB is checked as it is now."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.draft_addendum(role=ctx.actor.role, actor=ctx.actor.sub, reason=cmd.reason,
                                          changes=dict(cmd.changes),
                                          parent_kb=self._linked(agreement.parent_kb_id, "parent_kb_id"),
                                          vocab=self.vocabularies)
        return self._save(agreement, events, ctx)

    def edit_addendum(self, cmd: EditAddendum, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``EditAddendum``."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.edit_addendum(
            role=ctx.actor.role, actor=ctx.actor.sub, addendum_no=cmd.addendum_no, reason=cmd.reason,
            changes=dict(cmd.changes) if cmd.changes is not None else None,
            parent_kb=self._linked(agreement.parent_kb_id, "parent_kb_id"), vocab=self.vocabularies)
        return self._save(agreement, events, ctx)

    def record_parent_change(self, cmd: RecordParentChange, ctx: CommandContext) -> Agreement:
        """``RecordParentChange``: the KB just before and just after the causing event, compared on the PKS.

        Loads the KB as of the cause's version, so a redelivery long after (the KB changed again
        since) records the same fact; the PKS's current version is expected (a concurrent write
        raises ``ConcurrencyError`` and the cascade tries again).
        """
        kb_after = self.repository.load(cmd.parent_kb_id, to_version=cmd.cause_version)
        kb_before = self.repository.load(cmd.parent_kb_id, to_version=cmd.cause_version - 1)
        if kb_after.version != cmd.cause_version:
            raise ValueError(f"{cmd.parent_kb_id} has no version {cmd.cause_version}")
        agreement = self._load(cmd.agreement_id, None)
        events = agreement.record_parent_change(role=ctx.actor.role, kb_before=kb_before, kb_after=kb_after,
                                                cause_event_id=cmd.cause_event_id,
                                                cause_event_type=cmd.cause_event_type)
        return self._save(agreement, events, ctx)

    def acknowledge_parent_change(self, cmd: AcknowledgeParentChange, ctx: CommandContext,
                                  expected: int | None = None) -> Agreement:
        """``AcknowledgeParentChange``."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.acknowledge_parent_change(role=ctx.actor.role, note=cmd.note), ctx)

    def waive_final_evaluation(self, cmd: WaiveFinalEvaluation, ctx: CommandContext,
                               expected: int | None = None) -> Agreement:
        """``WaiveFinalEvaluation``: recorded on the agreement to be extended, dated today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.waive_final_evaluation(role=ctx.actor.role, reason=cmd.reason, today=self.today())
        return self._save(agreement, events, ctx)

    def submit_addendum(self, cmd: SubmitAddendum, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``SubmitAddendum``."""
        agreement = self._load(cmd.agreement_id, expected)
        return self._save(agreement, agreement.submit_addendum(role=ctx.actor.role, addendum_no=cmd.addendum_no), ctx)

    def record_addendum_review(self, cmd: RecordAddendumReview, ctx: CommandContext,
                               expected: int | None = None) -> Agreement:
        """``RecordAddendumReview``: ``reviewed_on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.record_addendum_review(
            role=ctx.actor.role, actor=ctx.actor.sub, addendum_no=cmd.addendum_no, recommended=cmd.recommended, notes=cmd.notes,
            reviewed_on=self._or_today(cmd.reviewed_on), today=self.today())
        return self._save(agreement, events, ctx)

    def approve_addendum_dprd(self, cmd: ApproveAddendumDprd, ctx: CommandContext,
                              expected: int | None = None) -> Agreement:
        """``ApproveAddendumDprd``: ``approved_on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.approve_addendum_dprd(
            role=ctx.actor.role, addendum_no=cmd.addendum_no, approval_ref=cmd.approval_ref,
            approved_on=self._or_today(cmd.approved_on), today=self.today())
        return self._save(agreement, events, ctx)

    def approve_addendum_central(self, cmd: ApproveAddendumCentral, ctx: CommandContext,
                                 expected: int | None = None) -> Agreement:
        """``ApproveAddendumCentral``: ``approved_on`` defaults to today."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.approve_addendum_central(
            role=ctx.actor.role, addendum_no=cmd.addendum_no, approval_ref=cmd.approval_ref,
            approved_on=self._or_today(cmd.approved_on), today=self.today())
        return self._save(agreement, events, ctx)

    def sign_addendum(self, cmd: SignAddendum, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``SignAddendum``: ``signed_on`` defaults to today; a PKS's KB is checked as it is now."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.sign_addendum(
            role=ctx.actor.role, addendum_no=cmd.addendum_no, number=cmd.number,
            signed_on=self._or_today(cmd.signed_on), today=self.today(), signatory_name=cmd.signatory_name,
            signatory_position=cmd.signatory_position, power_of_attorney_ref=cmd.power_of_attorney_ref,
            partner_number=cmd.partner_number, parent_kb=self._linked(agreement.parent_kb_id, "parent_kb_id"))
        return self._save(agreement, events, ctx)

    def withdraw_addendum(self, cmd: WithdrawAddendum, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``WithdrawAddendum``."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.withdraw_addendum(role=ctx.actor.role, addendum_no=cmd.addendum_no, reason=cmd.reason)
        return self._save(agreement, events, ctx)

    def reject_addendum(self, cmd: RejectAddendum, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``RejectAddendum``."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.reject_addendum(role=ctx.actor.role, addendum_no=cmd.addendum_no, reason=cmd.reason)
        return self._save(agreement, events, ctx)

    # ------------------------------------------------------------ documents

    def attach_document(self, cmd: AttachDocument, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``AttachDocument``: store the upload, then record it; the file is removed again if refused."""
        meta = self.files.put(cmd.stream, cmd.filename, cmd.media_type, ctx.actor.sub)
        try:
            agreement = self._load(cmd.agreement_id, expected)
            agreement = self._save(agreement, agreement.attach_document(role=ctx.actor.role, kind=cmd.kind,
                                                                        file=meta), ctx)
        except Exception:
            self.files.delete(meta["file_id"])
            raise
        self.files.link(meta["file_id"], cmd.agreement_id)
        return agreement

    # ------------------------------------------------------------ work plan and reports (scoped to the actor's OPD)

    def add_activity(self, cmd: AddActivity, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``AddActivity``."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.add_activity(
            role=ctx.actor.role, opd=ctx.actor.opd, activity_id=cmd.activity_id, name=cmd.name,
            indicator=cmd.indicator, target=cmd.target, unit=cmd.unit, schedule_start=cmd.schedule_start,
            schedule_end=cmd.schedule_end, responsible_opd=cmd.responsible_opd, budget=cmd.budget,
            vocab=self.vocabularies)
        return self._save(agreement, events, ctx)

    def update_activity(self, cmd: UpdateActivity, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``UpdateActivity``."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.update_activity(role=ctx.actor.role, opd=ctx.actor.opd, activity_id=cmd.activity_id,
                                           changes=dict(cmd.changes), vocab=self.vocabularies)
        return self._save(agreement, events, ctx)

    def remove_activity(self, cmd: RemoveActivity, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``RemoveActivity``."""
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.remove_activity(role=ctx.actor.role, opd=ctx.actor.opd, activity_id=cmd.activity_id)
        return self._save(agreement, events, ctx)

    def file_report(self, cmd: FileReport, ctx: CommandContext, expected: int | None = None) -> Agreement:
        """``FileReport``: every evidence file must have been uploaded; ``filed_on`` defaults to today."""
        evidence = [self._evidence(file_id, cmd.agreement_id, ctx) for file_id in cmd.evidence]
        agreement = self._load(cmd.agreement_id, expected)
        events = agreement.file_report(
            role=ctx.actor.role, opd=ctx.actor.opd, activity_id=cmd.activity_id, period=cmd.period,
            realisation=cmd.realisation, obstacles=cmd.obstacles, solutions=cmd.solutions, evidence=evidence,
            filed_on=self._or_today(cmd.filed_on), today=self.today())
        # Linked before the commit: a crash in between leaves a file of this agreement uncited, never a
        # cited file pending (which would expire and break the recorded evidence).
        for meta in evidence:
            self.files.link(meta["file_id"], cmd.agreement_id)
        return self._save(agreement, events, ctx)
