"""The applicant is told on receipt, a supplement request, the result and an apology, through the
channels accepted at reception, each provider spoken to over its real protocol on loopback: an SMTP
server (aiosmtpd), an eSMS-like and a Zalo-ZNS-like HTTP stand-in. A channel with no provider is
`off` and says so; a provider down is retried."""

from __future__ import annotations

import json
import socket
from email import message_from_bytes
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.services import dossiers
from engine.services import outbox
from engine.services.citizen_channels import set_provider
from engine.services.delivery import default_channels
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests import loopback
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture
from tests.loopback import JsonHandler

APPLICANT = {"phone": "0912345678", "email": "cong.dan@example.vn", "notify": ["sms", "zalo", "email"]}


class Inbox:
    """aiosmtpd's handler: keeps every message received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks its own start by connecting: it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class StandIn:
    """A provider's HTTP API on loopback: records each JSON request and answers as told."""

    def __init__(self, answer: dict, status: int = 200):
        self.requests, self.answer, self.status = [], answer, status
        stand_in = self

        class Handler(JsonHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stand_in.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.answer_json(stand_in.status, stand_in.answer)

        self.server = loopback.start(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        loopback.stop(self.server)


@pytest.fixture
def esms():
    stand_in = StandIn({"CodeResult": "100", "SMSID": "abc"})
    yield stand_in
    stand_in.close()


@pytest.fixture
def zalo():
    stand_in = StandIn({"error": 0, "message": "Success", "data": {"msg_id": "1"}})
    yield stand_in
    stand_in.close()


@pytest.fixture
def five(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def configure(rt, clock, smtp_port, esms, zalo, unit="01"):
    with rt.db.session() as s:
        set_provider(
            s, unit, "email", {"host": "127.0.0.1", "port": smtp_port, "sender": "motcua@hanoi.gov.vn"}, clock.now()
        )
        set_provider(
            s,
            unit,
            "sms",
            {"url": f"{esms.url}/sms", "api_key": "K", "secret_key": "S", "brandname": "UBND-HN", "unicode": "0"},
            clock.now(),
        )
        set_provider(
            s, unit, "zalo", {"url": f"{zalo.url}/zns", "access_token": "T", "template_id": "2468"}, clock.now()
        )


def messages(rt, dossier_id):
    with rt.db.session() as s:
        return [
            (m.channel, m.subject, m.status)
            for m in s.scalars(
                select(OutboxRecord)
                .where(OutboxRecord.dossier_id == dossier_id, OutboxRecord.channel != "in_app")
                .order_by(OutboxRecord.id)
            )
        ]


def complete_next(rt, dossier_id, actor, data):
    with rt.db.session() as s:
        item = s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
            )
        ).first()
    dossiers.complete_work_item(rt, item.id, actor, data)


def test_applicant_is_told_on_receipt_result_and_apology_on_every_channel(
    runtime, five, clock, smtp_server, esms, zalo
):
    port, inbox = smtp_server
    configure(runtime, clock, port, esms, zalo)
    dossier = dossiers.start_dossier(
        runtime,
        definition_id=five.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        applicant=APPLICANT,
    )
    assert outbox.deliver_due(runtime, default_channels())["sent"] == 3

    mail = inbox.messages[0]
    assert mail["To"] == "cong.dan@example.vn" and mail["Subject"] == f"Hồ sơ {dossier.code} đã được tiếp nhận"
    # Local time, as Vietnamese write it: received Monday 08:00, appointment Wednesday 17:00.
    assert "lúc 08:00 ngày 02/03/2026" in mail.get_content()
    assert "Hẹn trả kết quả: 17:00 ngày 04/03/2026" in mail.get_content()
    path, _, sms = esms.requests[0]
    assert path == "/sms" and sms["Phone"] == "0912345678" and sms["Brandname"] == "UBND-HN"
    assert sms["Content"].startswith(f"Ho so {dossier.code} da duoc tiep nhan")  # no accents without Unicode
    path, headers, zns = zalo.requests[0]
    assert headers["access_token"] == "T" and zns["phone"] == "84912345678" and zns["template_id"] == "2468"

    dossiers.reappoint_dossier(runtime, dossier.id, LEADER, clock.now().replace(day=6, hour=9), "chờ xác minh")
    for actor, data in (
        (RECEPTION, {}),
        (SPECIALIST, {"hop_le": True}),
        (SPECIALIST, {}),
        (LEADER, {}),
        (RECEPTION, {}),
    ):
        complete_next(runtime, dossier.id, actor, data)
    assert outbox.deliver_due(runtime, default_channels())["sent"] == 6
    subjects = [subject for channel, subject, _ in messages(runtime, dossier.id) if channel == "email"]
    assert subjects == [
        f"Hồ sơ {dossier.code} đã được tiếp nhận",
        f"Xin lỗi về hồ sơ {dossier.code} và hẹn lại",
        f"Hồ sơ {dossier.code} đã có kết quả",
    ]
    assert "Hẹn trả kết quả mới: 16:00 ngày 06/03/2026" in inbox.messages[1].get_content()
    assert "Lý do: chờ xác minh" in inbox.messages[1].get_content()


def test_a_channel_without_provider_is_off_and_says_so(runtime, five, clock, smtp_server, esms, zalo):
    port, _ = smtp_server
    with runtime.db.session() as s:
        set_provider(
            s, "00073", "sms", {"url": esms.url, "api_key": "K", "secret_key": "S", "brandname": "B"}, clock.now()
        )  # another commune's provider does not serve 00070
    dossier = dossiers.start_dossier(
        runtime,
        definition_id=five.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        applicant={**APPLICANT, "notify": ["sms"]},
    )
    assert outbox.deliver_due(runtime, default_channels()) == {"sent": 0, "retry": 0, "dead": 0, "off": 1}
    with runtime.db.session() as s:
        message = s.scalar(select(OutboxRecord).where(OutboxRecord.dossier_id == dossier.id))
    assert (message.status, message.last_error) == ("off", "no sms provider is configured for unit 00070")
    assert esms.requests == []


def test_a_provider_refusing_is_retried_then_dead(runtime, five, clock, smtp_server, esms, zalo):
    port, _ = smtp_server
    configure(runtime, clock, port, esms, zalo, unit="00070")
    esms.answer = {"CodeResult": "99", "ErrorMessage": "Brandname chưa đăng ký"}
    dossier = dossiers.start_dossier(
        runtime,
        definition_id=five.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        applicant={**APPLICANT, "notify": ["sms"]},
    )
    assert outbox.deliver_due(runtime, default_channels()) == {"sent": 0, "retry": 1, "dead": 0}
    with runtime.db.session() as s:
        assert "eSMS CodeResult 99: Brandname chưa đăng ký" in s.scalar(
            select(OutboxRecord.last_error).where(OutboxRecord.dossier_id == dossier.id)
        )
    esms.answer = {"CodeResult": "100"}
    clock.advance(minutes=2)
    assert outbox.deliver_due(runtime, default_channels())["sent"] == 1
    assert len(esms.requests) == 2


def test_no_channel_accepted_queues_nothing(runtime, five, clock):
    dossier = dossiers.start_dossier(
        runtime,
        definition_id=five.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        applicant={"phone": "0912345678"},
    )
    assert messages(runtime, dossier.id) == []
