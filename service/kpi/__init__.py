"""KPIs: the definition library, position templates, assignments of an employee in a
cycle, and measurements (single, by date, and bulk ingestion). Scores come from
service.scoring.kpi; this package only gathers the inputs and shows the results."""
