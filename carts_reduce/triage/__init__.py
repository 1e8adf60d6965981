"""Triage: many failing inputs to one reduced case per bug.

Every input is run once; those that fail are grouped by failure signature;
the smallest input of each group is reduced (a job each, their tests sharing
one executor), filed in the corpus and given a bug report; a summary says
which inputs hit which bug and which did not fail.
"""
