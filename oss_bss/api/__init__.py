"""The TM Forum Open APIs over the embedded OSS/BSS (FastAPI): the operator's HTTP face.

* :mod:`oss_bss.api.query`: what every TMF collection does (``fields=``,
  attribute filters, ``offset``/``limit`` with ``X-Total-Count``) and the
  TMF ``Error`` shape;
* :mod:`oss_bss.api.catalog`: TMF620 product catalog (specifications,
  offerings, prices), seeded from the operator's catalog;
* :mod:`oss_bss.api.access`: API keys and roles;
* :mod:`oss_bss.api.app`: the application.
"""
