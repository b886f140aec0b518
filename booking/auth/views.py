"""Sign in, sign out, change password, and the sessions a member of staff has open."""

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from booking.auth import blueprint, session_cookie
from booking.auth.access import staff_required
from booking.auth.accounts import SignInThrottled, _account_for, authenticate, change_password
from booking.auth.factors import factor_context
from booking.auth.forms import ButtonForm, ChangePasswordForm, SignInForm
from booking.auth.session_cookie import current_staff_session
from booking.auth.throttle import counts_for
from booking.clinic import DomainError, second_factors, staff_sessions
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.models import (
    Role,
    SessionEndReason,
    SessionStage,
    SignInMethod,
    StaffSession,
    StaffUser,
)
from booking.validators import site_path


def _home() -> str:
    return url_for("diary.day")


def _signed_in_staff() -> StaffUser:
    return current_user._get_current_object()


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def sign_in():
    next_url = site_path(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or _home())
    form = SignInForm()
    problem, status = None, 200
    if form.validate_on_submit():
        known = session_cookie.is_known_device(_account_for(form.email.data))
        try:
            user = authenticate(
                form.email.data,
                form.password.data,
                counts=counts_for(current_app.config),
                now=utcnow(),
                known_device=known,
            )
        except SignInThrottled as error:
            problem, status = error.message, 429
        except DomainError as error:
            problem, status = error.message, 401
        else:
            stage = second_factors.stage_after_password(user)
            session_cookie.begin(user, stage=stage, method=SignInMethod.PASSWORD)
            if stage == SessionStage.SECOND_FACTOR:
                session["next_after_second_factor"] = next_url
                response = redirect(url_for("auth.second_factor"))
            elif stage == SessionStage.ENROL:
                flash(
                    "The clinic asks every account like yours to sign in with a second "
                    "factor. Set one up now to carry on.",
                    "success",
                )
                response = redirect(url_for("auth.enrol"))
            else:
                response = redirect(next_url or _home())
            return session_cookie.remember_device(response, user)
    elif form.is_submitted():
        problem, status = "Enter your email address and password.", 422
    return render_template("auth/sign_in.html", form=form, problem=problem), status


@blueprint.post("/sign-out")
def sign_out():
    # Ends the server-side session: a copy of this cookie taken earlier opens nothing now.
    session_cookie.end_this_session(SessionEndReason.SIGNED_OUT)
    from flask_login import logout_user

    logout_user()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/password", methods=["GET", "POST"])
@staff_required()
def password():
    form = ChangePasswordForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            change_password(
                _signed_in_staff(),
                form.current_password.data,
                form.new_password.data,
                keep=current_staff_session(),
                now=utcnow(),
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(_home())
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template("auth/password.html", form=form, problem=problem), status


@blueprint.get("/account")
@staff_required(while_enrolling=True)
def account():
    user = _signed_in_staff()
    return render_template(
        "auth/account.html",
        sessions=staff_sessions.live_sessions(user, now=utcnow()),
        this_session=current_staff_session(),
        describe_device=staff_sessions.describe_device,
        form=ButtonForm(),
        **factor_context(),
    )


def _session_or_404(session_id: int) -> StaffSession:
    staff_session = db.session.get(StaffSession, session_id)
    if staff_session is None:
        abort(404)
    return staff_session


@blueprint.post("/sessions/<int:session_id>/end")
@staff_required()
def end_session(session_id: int):
    """End one of your own sessions; administrators may end anyone's."""
    staff_session = _session_or_404(session_id)
    user = _signed_in_staff()
    if staff_session.staff_user_id != user.id and user.role != Role.ADMIN:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    staff_sessions.end(staff_session, reason=SessionEndReason.ENDED_BY_STAFF, by=user, now=utcnow())
    if staff_session.staff_user_id == user.id:
        flash(
            f"That session ({staff_sessions.describe_device(staff_session.user_agent)}) "
            "has been signed out.",
            "success",
        )
        return redirect(url_for(".account"))
    flash("That session has been signed out.", "success")
    return redirect(url_for(".staff_sessions_page", account_id=staff_session.staff_user_id))


@blueprint.get("/people/<int:account_id>/sessions")
@staff_required(Role.ADMIN)
def staff_sessions_page(account_id: int):
    account = db.session.get(StaffUser, account_id)
    if account is None:
        abort(404)
    return render_template(
        "auth/staff_sessions.html",
        account=account,
        sessions=staff_sessions.live_sessions(account, now=utcnow()),
        describe_device=staff_sessions.describe_device,
        form=ButtonForm(),
    )


@blueprint.post("/people/<int:account_id>/sessions/end")
@staff_required(Role.ADMIN)
def end_all_sessions(account_id: int):
    account = db.session.get(StaffUser, account_id)
    if account is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    me = _signed_in_staff()
    keep = current_staff_session() if account.id == me.id else None
    count = staff_sessions.end_all(
        account, reason=SessionEndReason.ENDED_BY_ADMIN, by=me, now=utcnow(), keep=keep
    )
    flash(f"{count} session{'s' * (count != 1)} of {account.name} signed out.", "success")
    return redirect(url_for(".staff_sessions_page", account_id=account.id))


@blueprint.post("/session/keep-alive")
@staff_required(while_enrolling=True)
def keep_alive():
    """The idle warning's "Stay signed in": using the site is enough to count as active."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    minutes = clinic_settings().staff_idle_timeout_minutes
    if request.accept_mimetypes.best == "application/json":
        return jsonify(idle_seconds=minutes * 60)
    return redirect(site_path(request.form.get("next")) or _home())
