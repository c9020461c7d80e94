"""Single sign-on through the province's 统一身份认证 (issue 18): OpenID Connect providers
configured by YBZ_OIDC_<NAME>_* settings, identities mapped to the platform's users by a stable
subject, and the admin's link / unlink / disable of those identities."""
