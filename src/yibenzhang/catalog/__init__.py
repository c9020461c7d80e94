"""The region's catalogue of public data resources (目录"一本账"), DOMAIN §1."""
