"""The clinical record: what the clinic knows about a patient's health, safe by design.

One module per noun, each owning its rules:

- `access`: who may read clinical content (and the audit of every read); reception sees
  only whether a record exists and is complete.
- `intake`: the versioned intake questionnaire and its flagged answers.
- `consent`: consent to each treatment, to a versioned wording.
- `red_flags`: the warning signs re-checked before every visit.
- treatment notes, outcomes, retention and the printable record beside them.

Clinical content is sealed in the database (`booking.encryption.EncryptedText`). Views
call `access.open_record` before showing any of it, never read the tables directly.
"""
