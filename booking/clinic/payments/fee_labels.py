"""The names of the fees for missed appointments, as staff and patients read them.

Their own module because documents (invoices name the fee) need them without the fee
rules, which reach the documents through the deposit a waiver gives back.
"""

from booking.models import FeeKind

FEE_LABELS = {
    FeeKind.NO_SHOW.value: "No-show fee",
    FeeKind.LATE_CANCELLATION.value: "Late cancellation fee",
}
