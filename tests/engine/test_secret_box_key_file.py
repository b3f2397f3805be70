"""The generated instance key: processes that start together must all read one whole key."""

from __future__ import annotations

import threading

from cryptography.fernet import Fernet

from engine import secret_box


def _first_reads_together(tmp_path, monkeypatch, readers: int) -> list[str | BaseException]:
    monkeypatch.delenv(secret_box.ENV_KEYS, raising=False)
    monkeypatch.setenv(secret_box.ENV_KEY_FILE, str(tmp_path / "instance" / "notify.key"))
    start = threading.Barrier(readers)
    seen: list[str | BaseException] = []

    def read() -> None:
        start.wait()
        try:
            secret_box.check_configured()
            seen.append(secret_box.open_sealed(secret_box.seal("mật khẩu")))
        except BaseException as error:  # noqa: BLE001 - the test reports what each reader met
            seen.append(error)

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def test_web_workers_booting_together_on_a_fresh_machine_all_start_with_the_same_key(tmp_path, monkeypatch):
    for attempt in range(10):
        folder = tmp_path / str(attempt)
        seen = _first_reads_together(folder, monkeypatch, readers=8)
        assert seen == ["mật khẩu"] * 8  # none refused to start on a half-written key file
        key = (folder / "instance" / "notify.key").read_text(encoding="ascii").strip()
        Fernet(key.encode("ascii"))
        assert [p.name for p in (folder / "instance").iterdir()] == ["notify.key"]  # no drafts left behind
