"""Course products: the courses the clinic sells (sessions, price, how long they last).

A course already sold keeps the terms it was sold on; changing a product changes only
the courses sold after.
"""

from sqlalchemy import select

from booking.clinic import DomainError, audit
from booking.clinic.money import HIGHEST_PRICE_PENCE
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.extensions import db
from booking.models import CourseProduct, SessionType, StaffUser


def products(*, include_inactive: bool = False) -> list[CourseProduct]:
    """The courses the clinic sells (only those on sale unless asked)."""
    query = select(CourseProduct).order_by(CourseProduct.id)
    if not include_inactive:
        query = query.where(CourseProduct.active.is_(True))
    return list(db.session.scalars(query))


def save_product(
    product: CourseProduct | None,
    *,
    name: str,
    session_type: SessionType,
    sessions_count: int,
    price_pence: int,
    validity_days: int,
    active: bool,
    staff_user: StaffUser,
) -> CourseProduct:
    """Add a course product, or change one. Courses already sold keep their own terms."""
    if sessions_count < 1 or sessions_count > 100:
        raise DomainError("A course has between 1 and 100 sessions.")
    if price_pence < 0:
        raise DomainError("The price cannot be negative.")
    if price_pence > HIGHEST_PRICE_PENCE:
        raise DomainError("That price is more than £10,000; please check it.")
    if validity_days < 1 or validity_days > 3660:
        raise DomainError("A course is valid for between 1 day and 10 years.")
    with unit_of_work():
        return _save_product(
            product,
            name=name,
            session_type=session_type,
            sessions_count=sessions_count,
            price_pence=price_pence,
            validity_days=validity_days,
            active=active,
            staff_user=staff_user,
        )


def _save_product(
    product: CourseProduct | None,
    *,
    name: str,
    session_type: SessionType,
    sessions_count: int,
    price_pence: int,
    validity_days: int,
    active: bool,
    staff_user: StaffUser,
) -> CourseProduct:
    created = product is None
    if product is None:
        product = CourseProduct()
        db.session.add(product)
    else:
        product = lock_or_refuse(CourseProduct, product.id, "This course product no longer exists.")
    product.name = " ".join(name.split())[:120]
    product.session_type = session_type
    product.sessions_count = sessions_count
    product.price_pence = price_pence
    product.validity_days = validity_days
    product.active = active
    db.session.flush()
    audit.record(
        staff_user,
        "course_product.created" if created else "course_product.changed",
        product,
        name=product.name,
        session_type=session_type.name,
        sessions=sessions_count,
        price_pence=price_pence,
        validity_days=validity_days,
        active=active,
    )
    return product
