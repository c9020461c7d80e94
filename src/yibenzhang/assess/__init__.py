"""Assessment (评估监督, DOMAIN §10): targets, KPIs computed from the platform's own records,
org scorecards, the dashboard and exports; the compliance calendar lives beside them."""
