"""Authorized operation (授权运营, DOMAIN §7): operators, authorizations, the sandbox (数据可用不可见),
products, compliance review, registration, pricing, valuation and 入表."""
