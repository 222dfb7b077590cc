# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tests of the DCI SR test server itself (pytest; the server is the sync
addon's test fixture, ``g2p_br_sr_sync/tests/dci_sr_server.py``, standard
library only)."""

import time

import pytest
import requests

from odoo.addons.g2p_br_sr_sync.tests import dci_sr_server as srv_mod


def envelope(criteria):
    return {
        "signature": "",
        "header": {"version": "1.0.0", "action": "search", "message_id": "m"},
        "message": {
            "transaction_id": "t",
            "search_request": [
                {"reference_id": "r", "timestamp": "t", "search_criteria": criteria}
            ],
        },
    }


def search(server, criteria, headers=None):
    return requests.post(
        server.base_url + server.search_path,
        json=envelope(criteria),
        headers=headers or {},
        timeout=5,
    )


def records_of(response):
    item = response.json()["message"]["search_response"][0]
    assert item["status"] == "succ"
    return item["data"]["reg_records"], item["pagination"]


@pytest.fixture
def server():
    with srv_mod.DciSrServer(srv_mod.SrRegistry(100, seed=3)) as running:
        yield running


def test_registry_is_deterministic():
    one, two = srv_mod.SrRegistry(50, seed=9), srv_mod.SrRegistry(50, seed=9)
    assert [r.uin for r in one.records.values()] == [
        r.uin for r in two.records.values()
    ]
    groups = [r for r in one.records.values() if r.kind == "group"]
    assert len(groups) == 10
    assert sum(g.group_size for g in groups) == 40


def test_predicate_pagination_and_filters(server):
    criteria = {
        "reg_type": "ns:org:RegistryType:Individual",
        "query_type": "predicate",
        "query": [],
        "pagination": {"page_size": 30, "page_number": 3},
    }
    records, pagination = records_of(search(server, criteria))
    assert pagination == {"page_size": 30, "page_number": 3, "total_count": 80}
    ids = [r["identifier"][0]["identifier_value"] for r in records]
    assert ids == [f"IND-{n:07d}" for n in range(81, 101)]
    assert records[0]["name"]["given_name"] in srv_mod.GIVEN_NAMES

    changed = server.registry.update(seqs=[30, 40])
    since = server.registry.records[30].last_updated
    criteria["query"] = [
        {
            "seq_num": 1,
            "expression1": {
                "attribute_name": "last_updated",
                "operator": "ge",
                "attribute_value": since.isoformat(),
            },
        }
    ]
    criteria["pagination"]["page_number"] = 1
    records, pagination = records_of(search(server, criteria))
    assert pagination["total_count"] == 2
    assert [r["identifier"][0]["identifier_value"] for r in records] == changed

    criteria["reg_type"] = "ns:org:RegistryType:Group"
    criteria["query"] = []
    records, pagination = records_of(search(server, criteria))
    assert pagination["total_count"] == 20
    assert records[0]["group_identifier"][0]["identifier_value"] == "GRP-0000001"


def test_graphql_dialect(server):
    server.registry.deactivate(seqs=[5])
    query = (
        "{ getRegistrants(isGroup: true, limit: 4, offset: 4) { regIds { value } } }"
    )
    response = search(server, {"query_type": "graphql", "query": query})
    item = response.json()["message"]["search_response"][0]
    graphql = item["data"]["reg_records"]
    assert graphql["totalRegistrantCount"] == 20
    assert [r["id"] for r in graphql["getRegistrants"]] == [5, 6, 7, 8]
    assert graphql["getRegistrants"][0]["active"] is False
    since = srv_mod._iso(server.registry.records[5].last_updated)
    query = f'{{ getRegistrants(isGroup: true, lastSyncDate: "{since}") {{ id }} }}'
    response = search(server, {"query_type": "graphql", "query": query})
    assert (
        response.json()["message"]["search_response"][0]["data"]["reg_records"][
            "totalRegistrantCount"
        ]
        == 1
    )


def test_bearer_and_oauth2():
    registry = srv_mod.SrRegistry(20)
    criteria = {"query_type": "predicate", "query": [], "pagination": {"page_size": 5}}
    with srv_mod.DciSrServer(registry, auth="bearer") as server:
        assert search(server, criteria).status_code == 401
        ok = search(server, criteria, {"Authorization": "Bearer test-static-token"})
        assert ok.status_code == 200
    with srv_mod.DciSrServer(registry, auth="oauth2", token_ttl=1) as server:
        token_url = server.base_url + server.token_path
        wrong = {"grant_type": "client_credentials", "client_id": "x"}
        refused = requests.post(token_url, data=wrong, timeout=5)
        assert refused.status_code == 401
        token = requests.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": server.client_id,
                "client_secret": server.client_secret,
            },
            timeout=5,
        ).json()
        assert token["expires_in"] == 1
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        assert search(server, criteria, auth).status_code == 200
        time.sleep(1.1)
        assert search(server, criteria, auth).status_code == 401  # expired


def test_faults(server):
    criteria = {"query_type": "predicate", "query": [], "pagination": {"page_size": 50}}
    faults = server.faults
    faults.status_500 = 1
    assert search(server, criteria).status_code == 500
    faults.status_429, faults.retry_after = 1, 7
    response = search(server, criteria)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
    faults.malformed_json = 1
    with pytest.raises(ValueError):
        search(server, criteria).json()
    faults.drop = 1
    with pytest.raises(requests.ConnectionError):
        search(server, criteria)
    faults.reject = 1
    item = search(server, criteria).json()["message"]["search_response"][0]
    assert (item["status"], item["status_reason_code"]) == (
        "rjct",
        "rjct.search.too_many_records_found",
    )
    faults.bad_record_seqs = {21, 22, 23}
    records, _pagination = records_of(search(server, criteria))
    assert records[0]["birth_date"] == "31/02/1990"
    assert records[1]["sex"] == 42
    assert "identifier" not in records[2]
    changed = []
    faults.after_page[1] = lambda registry: changed.extend(registry.update(1))
    search(server, criteria)
    assert len(changed) == 1 and not faults.after_page


def test_mutation_api(server):
    response = requests.post(
        server.base_url + server.mutate_path,
        json={"update": 3, "deactivate": 2, "add": 1},
        timeout=5,
    )
    result = response.json()
    assert (len(result["updated"]), len(result["deactivated"])) == (3, 2)
    assert result["added"] == ["IND-0000101"]
    assert len(server.registry.records) == 101


def _ids(records):
    return [r["identifier"][0]["identifier_value"] for r in records]


def test_strict_validation_of_the_social_search_request(server):
    server.strict = True
    former = {
        "version": "1.0.0",
        "reg_event_type": "SEARCH",
        "reg_type": "ns:org:RegistryType:Individual",
        "query_type": "predicate",
        "query": [],
        "pagination": {"page_size": 10, "page_number": 1},
    }
    refused = search(server, former)
    assert refused.status_code == 400
    problems = server.invalid_requests[-1]
    assert any("reg_type: not a property" in p for p in problems)
    assert any("reg_event_type: not in" in p for p in problems)
    conformant = {
        "version": "1.0.0",
        "response_entity": "Group",
        "query_type": "predicate",
        "query": [
            {
                "seq_num": 1,
                "expression1": {
                    "attribute_name": "last_updated",
                    "operator": "ge",
                    "attribute_value": "2026-01-01T00:00:00.000000Z",
                },
                "condition": "and",
            }
        ],
        "sort": [{"attribute_name": "last_updated", "sort_order": "asc"}],
        "pagination": {"page_size": 10, "page_number": 1},
    }
    records, pagination = records_of(search(server, conformant))
    assert pagination["total_count"] == 20  # response_entity Group: households
    assert records[0]["@type"] == "Group"
    bad = dict(conformant, query=[{"expression1": {"attribute_name": "x"}}])
    assert search(server, bad).status_code == 400
    assert any("operator: required" in p for p in server.invalid_requests[-1])


def test_idtype_value_lookup(server):
    criteria = {
        "query_type": "idtype-value",
        "query": {"type": "SRID", "value": "IND-0000042"},
        "response_entity": "Member",
        "pagination": {"page_size": 1, "page_number": 1},
    }
    records, pagination = records_of(search(server, criteria))
    assert _ids(records) == ["IND-0000042"] and pagination["total_count"] == 1


def test_clock_offset_and_order_by_last_updated(server):
    registry = server.registry
    registry.clock_offset = -srv_mod.timedelta(hours=6)
    registry.order_by_last_updated = True
    changed = registry.update(seqs=[21])  # the first individual
    stamp = registry.records[21].last_updated
    assert abs((srv_mod.datetime.now(srv_mod.UTC) - stamp).total_seconds() - 21600) < 60
    criteria = {
        "query_type": "predicate",
        "query": [],
        "sort": [{"attribute_name": "seq", "sort_order": "asc"}],  # ignored
        "pagination": {"page_size": 100, "page_number": 1},
    }
    response = search(server, criteria)
    records, _pagination = records_of(response)
    assert _ids(records)[-1] == changed[0]  # moved to the end
    message_ts = srv_mod._parse_dt(response.json()["header"]["message_ts"])
    assert abs((message_ts - registry.now()).total_seconds()) < 60


def test_churn_and_outage(server):
    server.faults.churn = 3
    server.faults.churn_pages = 1
    criteria = {
        "query_type": "predicate",
        "query": [],
        "pagination": {"page_size": 10, "page_number": 1},
    }
    before = {r.seq: r.last_updated for r in server.registry.records.values()}
    records_of(search(server, criteria))
    after = server.registry.records.values()
    assert sum(1 for r in after if r.last_updated != before[r.seq]) == 3
    records_of(search(server, criteria))  # churn_pages spent: no change
    assert sum(1 for r in after if r.last_updated != before[r.seq]) == 3
    server.faults.outage_after = 3  # 2 answered so far
    assert search(server, criteria).status_code == 200
    assert search(server, criteria).status_code == 503
    assert search(server, criteria).status_code == 503
    server.faults.outage_after = None
    assert search(server, criteria).status_code == 200
