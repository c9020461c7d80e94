"""Hash-chained evidence of every act (DESIGN rule 7, DOMAIN §9)."""
