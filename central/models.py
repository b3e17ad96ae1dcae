"""Every table of central, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

from sqlmodel import SQLModel

from central.activities.models import (
    ActivityPlan,
    ActivityPlanTarget,
    ManualActivity,
    QueueDay,
)
from central.audit.models import AuditChainHead, AuditEvent
from central.auth.models import RefreshToken, SignInGuard, TokenFamily, WebSession
from central.cases.models import (
    CaseAction,
    CaseAlert,
    CaseDeadline,
    CaseDocument,
    CaseEvent,
    CaseFile,
    CaseParty,
    CaseReferral,
    CaseSequence,
)
from central.citizens.models import Citizen, CitizenMerge, EligibilityStatement
from central.conciliation.models import (
    ConcActa,
    ConcActaVoid,
    ConcAttendance,
    ConcCertifiedCopy,
    ConcClaim,
    ConcEvent,
    ConcFile,
    ConcInvitation,
    ConcObligation,
    ConcParty,
    ConcProfessional,
    ConcSequence,
    ConcSession,
)
from central.core.signed import SignedDocument
from central.devices.models import Device, EnrollmentCode
from central.multidisciplinary.models import (
    MdAlert,
    MdCaseNotice,
    MdCustodyEvent,
    MdDelivery,
    MdEvidence,
    MdReport,
    MdReportVersion,
    MdRequest,
    MdSequence,
    MdSession,
    MdSocioEval,
)
from central.org.models import Counter, CounterService, District, OpeningHours, Sede, SedeService
from central.sensitive.models import SensitiveNote
from central.users.models import User, UserProfile

metadata = SQLModel.metadata

__all__ = [
    "ActivityPlan",
    "ActivityPlanTarget",
    "AuditChainHead",
    "AuditEvent",
    "CaseAction",
    "CaseAlert",
    "CaseDeadline",
    "CaseDocument",
    "CaseEvent",
    "CaseFile",
    "CaseParty",
    "CaseReferral",
    "CaseSequence",
    "Citizen",
    "ConcActa",
    "ConcActaVoid",
    "ConcAttendance",
    "ConcCertifiedCopy",
    "ConcClaim",
    "ConcEvent",
    "ConcFile",
    "ConcInvitation",
    "ConcObligation",
    "ConcParty",
    "ConcProfessional",
    "ConcSequence",
    "ConcSession",
    "CitizenMerge",
    "Counter",
    "CounterService",
    "Device",
    "District",
    "EligibilityStatement",
    "EnrollmentCode",
    "ManualActivity",
    "MdAlert",
    "MdCaseNotice",
    "MdCustodyEvent",
    "MdDelivery",
    "MdEvidence",
    "MdReport",
    "MdReportVersion",
    "MdRequest",
    "MdSequence",
    "MdSession",
    "MdSocioEval",
    "OpeningHours",
    "QueueDay",
    "RefreshToken",
    "Sede",
    "SedeService",
    "SensitiveNote",
    "SignInGuard",
    "SignedDocument",
    "TokenFamily",
    "User",
    "UserProfile",
    "WebSession",
    "metadata",
]
