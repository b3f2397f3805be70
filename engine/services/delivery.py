"""The channels a worker delivers the outbox through, assembled: in-app, the national portal, and
the applicant's SMS, Zalo and e-mail through the providers each province or unit configures."""

from __future__ import annotations

from engine.services.channels import Channel
from engine.services.channels import InAppChannel
from engine.services.channels import SmtpChannel
from engine.services.citizen_channels import applicant_channels
from engine.services.portal_sync import PortalChannel


def default_channels(smtp: SmtpChannel | None = None) -> dict[str, Channel]:
    """In-app, the portal, and the applicant's channels (SMS, Zalo, e-mail) through the providers
    configured per province or unit; `smtp` (MOTCUA_SMTP_HOST) sends e-mail where no unit configures
    its own."""
    return {"in_app": InAppChannel(), "portal": PortalChannel(), **applicant_channels(email_fallback=smtp)}
