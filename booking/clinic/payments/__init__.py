"""Money: the ledger (payments, refunds, balances), fees for missed appointments, takings.

See `booking.clinic.payments.ledger` for the domain API the rest of the clinic uses.
"""
