"""Meeting briefs built from the data the service already holds (docs/briefs.md): a team
brief (key results off pace, confidence drops, overdue check-ins, KPIs below threshold,
open actions), a one-on-one brief, a quarterly review brief (result data and the gap to
target per objective and KPI, from the engine; last quarter's improvement plan) and an
interview brief (score with its explanation, evaluation, self review).

The builders take plain values (employee ids, a period, the time of the previous meeting,
the open actions) and answer a pydantic model, rendered as Markdown by
`service.briefs.markdown`; every figure comes from the same functions the API shows
(service/okr/compute.py, service/kpi/service.py, service/scoring). A meeting resource
calls them with its team, period and actions; today the routes of service/briefs/api.py
do, for departments, employees, review meetings and interviews."""
