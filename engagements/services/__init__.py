"""Every write to studies, engagements and contributions: one function per action, keyword-only.

Each action locks the row it changes, checks its current state, changes it and
stamps the audit history with the actor and the reason, all in one transaction.
None of them has side effects outside the database (no mail, no tasks), so none
waits for the commit. A call that no longer applies raises StateConflict.

Import the action from its module: ``contributions`` (log, edit, submit,
adjust), ``reviews`` (approve, return, many at once), ``disputes``,
``engagements`` (studies, rates, engaging a consultant) and ``imports``
(spreadsheet rows). ``checks`` holds the rules they share.
"""
