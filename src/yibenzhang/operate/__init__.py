"""Authorized operation (授权运营, DOMAIN §7): operators, authorizations, the sandbox (数据可用不可见),
its disclosure control, output checking and privacy budget. What operators build from released
runs — products and their asset chain — is the `assets` stage, which imports this one."""
