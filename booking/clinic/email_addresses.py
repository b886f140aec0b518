"""Which email addresses the clinic can write to: one rule for every form and setting.

The outbox sends through Flask-Mail and smtplib in plain SMTP, without the SMTPUTF8
extension, so the part before the @ must be ASCII: an address such as rüth@example.org
would be accepted and then fail on every attempt. The domain may be international; it
is stored in its ASCII (IDNA) form, which every mail server reads.
"""

from email_validator import EmailNotValidError, validate_email

from booking.clinic.errors import DomainError

EMAIL_LIKE = "Enter an email address like name@example.com."
EMAIL_NOT_DELIVERABLE = (
    "We cannot send email to an address with accents or other non-English letters "
    "before the @. Please give another address."
)


def deliverable_email(text: str, *, message: str = EMAIL_LIKE) -> str:
    """The address ready to store and send to, or a DomainError saying why not."""
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        local_part = text.rpartition("@")[0]
        if local_part and not local_part.isascii():
            raise DomainError(EMAIL_NOT_DELIVERABLE) from None
        raise DomainError(message) from None
    if text.isascii():
        return text
    return checked.ascii_email or text
