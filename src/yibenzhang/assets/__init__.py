"""Data assets (数据资产, DOMAIN §7): products built from released sandbox runs, compliance review,
registration and certificates, pricing and revenue, valuation and 入表. Built on authorized
operation: this package imports `operate` (authorizations, sandbox runs), never the reverse."""
