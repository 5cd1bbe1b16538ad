"""Coordinator pages: thin views over engagements.services and selectors.

Every write goes through a service. A service's error lands on the form field
it names (400), or above the form; a change that no longer applies answers 409.

One module per part: ``studies`` (studies, engagements), ``week`` (logging a
week of hours), ``contributions`` (one entry, all entries), ``review``
(approving and returning), ``disputes`` and ``imports`` (CSV import).
"""
