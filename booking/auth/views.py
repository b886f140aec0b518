"""Sign in, sign out and change password."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from booking.auth import blueprint
from booking.auth.access import staff_required
from booking.auth.accounts import authenticate, change_password
from booking.auth.forms import ChangePasswordForm, SignInForm
from booking.clinic import DomainError
from booking.extensions import limiter
from booking.validators import site_path


def _home() -> str:
    return url_for("diary.day")


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def sign_in():
    next_url = site_path(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or _home())
    form = SignInForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except DomainError as error:
            problem, status = error.message, 401
        else:
            # A fresh session on sign-in: nothing from before survives into the signed-in one.
            session.clear()
            login_user(user)
            return redirect(next_url or _home())
    elif form.is_submitted():
        problem, status = "Enter your email address and password.", 422
    return render_template("auth/sign_in.html", form=form, problem=problem), status


@blueprint.post("/sign-out")
def sign_out():
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/password", methods=["GET", "POST"])
@staff_required()
def password():
    form = ChangePasswordForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            problem, status = error.message, 422
        else:
            # The session version rose, so this session signs in again under the new one.
            login_user(current_user._get_current_object())
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(_home())
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template("auth/password.html", form=form, problem=problem), status
