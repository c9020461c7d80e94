"""Opening public data to society (开放, DOMAIN §6): downloads, applications and API keys for
有条件开放, the rows API, demand collection, showcase, annual open plans and open-data KPIs."""
