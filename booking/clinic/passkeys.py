"""Passkeys (WebAuthn): a phone, a laptop's fingerprint reader or a security key.

A passkey is a second factor after the password, or, where the clinic allows it, the
only factor: it is already two (the device, and the fingerprint or PIN that unlocks
it). The challenge each ceremony signs is made here and kept by the caller (in the
signed session cookie) until the browser answers.

py_webauthn (with its ASN.1 and CBOR parsers) is imported by each ceremony, not with the
module: it is about a tenth of a second of processor time at every start of the
application (each gunicorn worker, outbox worker and flask command), for the few
requests that use a passkey.
"""

import json
from datetime import datetime

from sqlalchemy import select

from booking.clinic import access_log
from booking.clinic.errors import DomainError
from booking.clinic.transaction import lock, unit_of_work
from booking.extensions import db
from booking.models import Passkey, StaffUser

NAME_LENGTH = 80
NOT_RECOGNISED = "That passkey was not recognised. Try again, or use another way to sign in."


def passkeys_of(account: StaffUser) -> list[Passkey]:
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.staff_user_id == account.id).order_by(Passkey.id)
        )
    )


def registration_options(account: StaffUser, *, rp_id: str, rp_name: str) -> tuple[str, bytes]:
    """The browser's navigator.credentials.create() options (JSON) and their challenge."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=f"staff-{account.id}".encode("ascii"),
        user_name=account.email,
        user_display_name=account.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            # Discoverable, so that the same passkey can sign in without a password.
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=key.credential_id) for key in passkeys_of(account)
        ],
    )
    return options_to_json(options), options.challenge


def register(
    account: StaffUser,
    credential: str,
    *,
    name: str,
    challenge: bytes,
    rp_id: str,
    origins: list[str],
    now: datetime,
) -> Passkey:
    """Keep the new passkey the browser made, once its answer checks out."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import InvalidRegistrationResponse

    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as error:
        access_log.record(account, "staff.second_factor_failed", account=account, method="passkey")
        raise DomainError("The passkey could not be set up. Please try again.") from error
    name = " ".join((name or "").split())[:NAME_LENGTH] or "Passkey"
    with unit_of_work() as session:
        passkey = Passkey(
            staff_user_id=account.id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name,
            created_at=now,
        )
        session.add(passkey)
        session.flush()
        access_log.record(
            account, "staff.second_factor_enrolled", account=account, method="passkey", now=now
        )
    return passkey


def authentication_options(account: StaffUser | None, *, rp_id: str) -> tuple[str, bytes]:
    """navigator.credentials.get() options: the account's passkeys, or any (passkey-only)."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

    allow = None
    if account is not None:
        allow = [
            PublicKeyCredentialDescriptor(id=key.credential_id) for key in passkeys_of(account)
        ]
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


def authenticate(
    credential: str,
    *,
    challenge: bytes,
    rp_id: str,
    origins: list[str],
    now: datetime,
    account: StaffUser | None = None,
) -> StaffUser:
    """The account whose passkey signed the challenge (it must be `account`'s if given)."""
    from webauthn import base64url_to_bytes, verify_authentication_response
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse

    try:
        credential_id = base64url_to_bytes(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError) as error:
        raise DomainError(NOT_RECOGNISED) from error
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
    if passkey is None or (account is not None and passkey.staff_user_id != account.id):
        access_log.record(account, "staff.second_factor_failed", account=account, method="passkey")
        raise DomainError(NOT_RECOGNISED)
    owner = passkey.staff_user
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as error:
        access_log.record(owner, "staff.second_factor_failed", account=owner, method="passkey")
        raise DomainError(NOT_RECOGNISED) from error
    if not owner.active:
        raise DomainError(NOT_RECOGNISED)
    with unit_of_work():
        row = lock(Passkey, passkey.id)
        assert row is not None
        row.sign_count = verified.new_sign_count
        row.last_used_at = now
        access_log.record(
            owner, "staff.second_factor_used", account=owner, method="passkey", now=now
        )
    return owner


def remove(account: StaffUser, passkey_id: int, *, now: datetime) -> None:
    with unit_of_work() as session:
        passkey = lock(Passkey, passkey_id)
        if passkey is None or passkey.staff_user_id != account.id:
            raise DomainError("That passkey is not one of yours.")
        session.delete(passkey)
        access_log.record(
            account, "staff.second_factor_removed", account=account, method="passkey", now=now
        )
