# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math
from datetime import date, datetime

from odoo.tests.common import BaseCase, TransactionCase, tagged
from odoo.tools import SQL

from ..models.g2p_br_beneficiary import page_json
from ..services.record_mapping import (
    _MISSING,
    MappingError,
    MappingRule,
    RecordError,
    RecordMapper,
    extract,
    parse_path,
)

RECORD = {
    "identifier": [
        {"identifier_type": "SRID", "identifier_value": "IND-1"},
        {"identifier_type": "UIN", "identifier_value": "9988"},
    ],
    "name": {"given_name": "Zawadi", "surname": "Secretname"},
    "sex": "F",
    "birth_date": "1985-05-20T00:00:00Z",
    "address": [{"region_code": "R07", "address_line1": "1 Secret Lane"}],
    "group_size": "4",
    "poverty_score": "3.25",
    "status": "inactive",
    "last_updated": "2026-03-01T10:00:00.5+02:00",
}
TYPES = {
    "sr_id": ("char", None),
    "sex": ("selection", ["male", "female", "other"]),
    "birth_date": ("date", None),
    "region_code": ("char", None),
    "group_size": ("integer", None),
    "poverty_score": ("float", None),
    "active": ("boolean", None),
    "sr_updated_at": ("datetime", None),
}


def rule(path, target, transform="none", value_map="", **kw):
    return MappingRule.build(
        source_path=path, target=target, transform=transform, value_map=value_map, **kw
    )


@tagged("post_install", "-at_install")
class TestRecordMapping(BaseCase):
    def test_paths_and_selectors(self):
        self.assertEqual(
            extract(
                RECORD, parse_path("identifier[identifier_type=UIN].identifier_value")
            ),
            "9988",
        )
        self.assertEqual(extract(RECORD, parse_path("address[0].region_code")), "R07")
        self.assertEqual(
            extract(RECORD, parse_path("identifier[-1].identifier_type")), "UIN"
        )
        missing = extract(
            RECORD, parse_path("identifier[identifier_type=NID].identifier_value")
        )
        self.assertIs(missing, _MISSING)
        self.assertIs(extract(RECORD, parse_path("name.given_name.x")), _MISSING)
        for bad in ("", "a[b", "a]", "a[x=]y", "a[one]"):
            with self.assertRaises(MappingError, msg=bad):
                parse_path(bad)

    def test_transforms(self):
        mapper = RecordMapper(
            [
                rule("identifier[identifier_type=SRID].identifier_value", "sr_id"),
                rule(
                    "identifier[identifier_type=UIN].identifier_value",
                    "identifier",
                    identifier_type="UIN",
                ),
                rule("sex", "sex", "value_map", "F = female\nM = male\n* = other"),
                rule("birth_date", "birth_date", "date"),
                rule("address[0].region_code", "region_code", "lower"),
                rule("group_size", "group_size", "int"),
                rule("poverty_score", "poverty_score", "float"),
                rule(
                    "status", "active", "value_map", "active = true\ninactive = false"
                ),
                rule("last_updated", "sr_updated_at", "datetime"),
            ],
            TYPES,
        )
        values = mapper.map_record(RECORD)
        self.assertEqual(
            values,
            {
                "sr_id": "IND-1",
                "identifier:UIN": "9988",
                "sex": "female",
                "birth_date": date(1985, 5, 20),
                "region_code": "r07",
                "group_size": 4,
                "poverty_score": 3.25,
                "active": False,
                "sr_updated_at": datetime(2026, 3, 1, 8, 0, 0, 500000),
            },
        )
        # only mapped keys come out: no name, no address line
        self.assertNotIn("Secretname", repr(values))
        self.assertEqual(mapper.map_record({**RECORD, "sex": "X"})["sex"], "other")

    def test_bad_records_rejected_without_values(self):
        mapper = RecordMapper(
            [
                rule("identifier[identifier_type=SRID].identifier_value", "sr_id"),
                rule("sex", "sex"),
                rule("birth_date", "birth_date", "date"),
                rule("group_size", "group_size", "int"),
                rule("poverty_score", "poverty_score", required=True),
            ],
            TYPES,
        )
        cases = {
            "birth_date": {**RECORD, "birth_date": "Secretname 1990"},
            "group_size": {**RECORD, "group_size": "Secretname"},
            "sex": {**RECORD, "sex": "Secretname"},
            "poverty_score": {k: v for k, v in RECORD.items() if k != "poverty_score"},
            "sr_id": {**RECORD, "identifier": []},
        }
        for field_name, record in cases.items():
            with self.assertRaises(RecordError, msg=field_name) as caught:
                mapper.map_record(record)
            self.assertIn(field_name, str(caught.exception))
            self.assertNotIn("Secretname", str(caught.exception))
        self.assertEqual(mapper.sr_id_of(cases["sex"]), "IND-1")
        self.assertIsNone(mapper.sr_id_of(cases["sr_id"]))
        with self.assertRaises(RecordError):
            mapper.map_record(["not", "an", "object"])

    def test_mapping_definition_errors(self):
        with self.assertRaises(MappingError):
            RecordMapper([rule("sex", "sex")], TYPES)  # no SR id
        with self.assertRaises(MappingError):
            rule("sex", "sex", "value_map", "# only a comment")
        with self.assertRaises(MappingError):
            rule("sex", "sex", "upper")


@tagged("post_install", "-at_install")
class TestPageJson(TransactionCase):
    """The page's mapped rows reach PostgreSQL as one JSON text: every mapped
    value type comes back unchanged from ``json_to_recordset``."""

    def test_round_trip(self):
        rows = [
            {
                "sr_id": 'IND-"1"\\é',
                "born": date(1985, 5, 20),
                "stamp": datetime(2026, 3, 1, 8, 0, 0, 500000),
                "score": 3.25,
                "size": 4,
                "flag": False,
                "none": None,
            },
            {"sr_id": "IND-2", "score": float("nan")},
            {"sr_id": "IND-3", "score": float("inf")},
            {"sr_id": "IND-4", "score": float("-inf")},
        ]
        self.env.cr.execute(
            SQL(
                """
                SELECT * FROM json_to_recordset(%s::json) AS d(
                    sr_id varchar, born date, stamp timestamp, score float8,
                    size int4, flag bool, none varchar)
                """,
                page_json(rows, ["score"]),
            )
        )
        result = self.env.cr.fetchall()
        self.assertEqual(
            result[0],
            (
                'IND-"1"\\é',
                date(1985, 5, 20),
                datetime(2026, 3, 1, 8, 0, 0, 500000),
                3.25,
                4,
                False,
                None,
            ),
        )
        self.assertTrue(math.isnan(result[1][3]))
        self.assertEqual([r[3] for r in result[2:]], [math.inf, -math.inf])
        self.assertTrue(math.isnan(rows[1]["score"]), "the rows are not modified")
