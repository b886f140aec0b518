"""Import from another system: choose the file and its layout, check it (a dry run that
lists every problem row), adjust the column mapping, then import it.

Nothing of the file is kept on the server between the steps: the import asks for the
same file again, and refuses one whose fingerprint differs from the file checked.
"""

from flask import render_template, request
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice

from booking.auth.access import staff_required
from booking.clinic import DomainError
from booking.clinic.data_exchange import imports
from booking.clinic.data_exchange.layouts import FIELDS, LAYOUTS, default_mapping
from booking.database import utcnow
from booking.diary import blueprint
from booking.diary.signed_in import signed_in_staff
from booking.models import Role
from booking.validators import Form


class ImportForm(Form):
    source = SelectField(
        "The system the file comes from",
        choices=[SelectChoice(key, layout.label) for key, layout in LAYOUTS.items()],
    )
    upload = FileField("The CSV file")
    checked = HiddenField()


def _mapping(upload: imports.UploadedFile, source: str) -> dict[str, str]:
    """The layout's guesses, overridden by what the person chose in the mapping step."""
    mapping = default_mapping(LAYOUTS[source], upload.headings)
    if request.form.get("mapped"):
        for name in FIELDS:
            chosen = request.form.get(f"map-{name}", "")
            if chosen in upload.headings:
                mapping[name] = chosen
            elif chosen == "":
                mapping.pop(name, None)
    return mapping


def _page(form: ImportForm, *, status: int = 200, **values):
    return render_template(
        "diary/import.html",
        form=form,
        fields=FIELDS,
        largest_kb=imports.LARGEST_FILE_BYTES // 1024,
        **values,
    ), status


@blueprint.get("/import")
@staff_required(Role.ADMIN)
def import_page():
    return _page(ImportForm())


@blueprint.post("/import")
@staff_required(Role.ADMIN)
def import_file():
    form = ImportForm()
    if not form.validate():
        return _page(form, status=422, problem="Please correct the highlighted answers below.")
    storage = form.upload.data
    if storage is None or not getattr(storage, "filename", ""):
        form.upload.errors = ["Choose the CSV file to import."]
        return _page(form, status=422, problem="Please choose the file.")
    try:
        upload = imports.read_upload(storage.read(imports.LARGEST_FILE_BYTES + 1))
    except DomainError as error:
        form.upload.errors = [error.message]
        return _page(form, status=422, problem=error.message)
    source = form.source.data
    mapping = _mapping(upload, source)
    values = {"headings": upload.headings, "mapping": mapping, "digest": upload.digest}
    try:
        if request.form.get("action") == "import":
            report = imports.import_rows(
                upload,
                source,
                mapping,
                checked_digest=form.checked.data or "",
                staff_user=signed_in_staff(),
            )
            return _page(form, report=report, imported=True, **values)
        report = imports.check_rows(upload, source, mapping, now=utcnow())
    except DomainError as error:
        return _page(form, status=422, problem=error.message, **values)
    return _page(form, report=report, imported=False, **values)
