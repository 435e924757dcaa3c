"""Stand-in for tapisservice.tenants.TenantCache (tapipy keeps it as `tenant_cache`).

The kit's plugin replaces every operation util.py calls that would need tenant
configuration, so this cache only answers the few attribute reads tapipy may make.
"""
from tapipy.tapis import TapisResult

TENANTS = ("admin", "dev", "tacc")


class TenantCache:
    def __init__(self, *args, **kwargs):
        self.tenants = {tid: TapisResult(**{"tenant_id": tid, "base_url": None, "site_id": "tacc",
                                             "public_key": None}) for tid in TENANTS}

    def reload_tenants(self):
        return self.tenants

    def get_tenant_config(self, tenant_id=None, url=None):
        return self.tenants[tenant_id]

    def get_site_admin_tenants_for_service(self):
        return [self.tenants["admin"]]
