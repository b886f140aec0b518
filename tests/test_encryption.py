"""Clinical content is sealed with the record keys, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet

from booking.encryption import (
    ClinicalKeyMissing,
    EncryptedText,
    open_text,
    reseal_text,
    seal_text,
)


def test_sealed_text_holds_no_clear_text_and_opens_again(app):
    token = seal_text("Takes warfarin; faints at needles")
    assert "warfarin" not in token
    assert open_text(token) == "Takes warfarin; faints at needles"


def test_a_new_first_key_opens_old_records_and_reseals_them(app, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    token = seal_text("pacemaker fitted 2019")

    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", f"{new},{old}")
    resealed = reseal_text(token)
    assert open_text(resealed) == "pacemaker fitted 2019"

    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", new)
    assert open_text(resealed) == "pacemaker fitted 2019"
    with pytest.raises(ClinicalKeyMissing):
        open_text(token)


def test_production_refuses_to_seal_without_keys(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", "")
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS_REQUIRED", True)
    with pytest.raises(ClinicalKeyMissing):
        seal_text("anything")


def test_the_column_type_seals_on_the_way_in_and_opens_on_the_way_out(app):
    column = EncryptedText()
    stored = column.process_bind_param("bleeding disorder", None)
    assert stored is not None and "bleeding" not in stored
    assert column.process_result_value(stored, None) == "bleeding disorder"
    assert column.process_bind_param(None, None) is None
