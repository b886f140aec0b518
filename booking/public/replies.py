"""Replies under the information pages (testimonials), moderated before they show."""

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from booking.clinic import DomainError
from booking.clinic.testimonials import PAGES_WITH_REPLIES, submit_reply
from booking.extensions import limiter
from booking.public import blueprint
from booking.public.content import load_page
from booking.public.reply_section import ReplyForm, replies_context

REPLY_RATE_LIMIT = "5 per hour"
THANK_YOU = "Thank you: your reply will appear once the clinic has read it."
CORRECT_THE_FORM = "Please correct the highlighted answers below; your reply is kept."
TOO_MANY = (
    "You have sent several replies in a short time, so we cannot take another just now. "
    "Your reply is kept below: please send it again in an hour."
)
NOT_SENT = "We could not send your reply. Please check it and send it again."


def _page_with_form(page: str, form: ReplyForm, problem: str, status: int):
    content = load_page(current_app.config["CONTENT_DIR"], page)
    if content is None:
        abort(404)
    # Never echo the honeypot back: a person whose browser filled it in can then resend.
    form.website.data = ""
    html = render_template("public/page.html", page=content, **replies_context(page, form, problem))
    return make_response(html, status)


def _keep_the_reply(_limit):
    """Over the limit: the page again with what they typed and why, not the bare 429 page."""
    return _page_with_form(request.view_args["page"], ReplyForm(), TOO_MANY, 429)


def _counts_towards_limit(response) -> bool:
    # A person correcting a mistake in the form does not use up their allowance.
    return response.status_code != 422


@blueprint.post(f"/<any({', '.join(PAGES_WITH_REPLIES)}):page>/replies")
@limiter.limit(REPLY_RATE_LIMIT, on_breach=_keep_the_reply, deduct_when=_counts_towards_limit)
def leave_reply(page: str):
    form = ReplyForm()
    if not form.validate_on_submit():
        return _page_with_form(page, form, CORRECT_THE_FORM, 422)
    if form.website.data:
        current_app.logger.info("Reply on %s refused: the honeypot field was filled in", page)
        return _page_with_form(page, form, NOT_SENT, 400)
    try:
        submit_reply(page, name=form.name.data, email=form.email.data, reply=form.reply.data)
    except DomainError as error:
        return _page_with_form(page, form, error.message, 422)
    flash(THANK_YOU, "success")
    # No #replies anchor: the thank-you shows at the top of the page, where the anchor would
    # scroll past it.
    return redirect(url_for(f".{page.replace('-', '_')}"), 303)
