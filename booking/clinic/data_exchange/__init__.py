"""Data in and out of the clinic: spreadsheets for the accountant, imports from another
system, and the full export a clinic takes with it when it leaves."""
