"""What a write's answer costs: bytes and decode time of one full batch, by read mask.

A controller decodes every write's answer on its event loop. The apply engine asks for only
what it uses of a contact write's answer (``reconciler.apply.gateway.WRITE_ANSWER_FIELDS``:
the metadata and the stamp; ``resourceName`` and ``etag`` always come) and makes the written
copy of the contact from what it sent; before, it asked for every field a plan compares
(``PERSON_FIELDS``). For 200 contacts stamped the way the controller stamps them, the script
sends one ``batchCreateContacts`` and one ``batchUpdateContacts`` with each mask to the
emulator in process and prints the answer's size and the median time to decode it.

    python bench/write_answers.py [--contacts 200] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx

from reconciler.apply.gateway import PERSON_FIELDS, WRITE_ANSWER_FIELDS
from reconciler.emulator import create_app
from reconciler.model.stamps import Stamp

USER = "bench@example.com"


def person(i: int) -> dict[str, Any]:
    stamp = Stamp(
        owner="bench", name=f"person-{i:05d}", fields=frozenset({"names", "emailAddresses"})
    )
    return {
        "names": [{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
        "emailAddresses": [{"value": f"person{i}@example.com", "type": "work"}],
        "phoneNumbers": [{"value": f"+1 650 555 {i % 10000:04d}", "type": "mobile"}],
        "organizations": [{"name": "Acme", "title": "Engineer"}],
        "clientData": stamp.entries(),
    }


def decode_ms(content: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        json.loads(content)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def main(contacts: int, repeat: int) -> None:
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer user:{USER}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator/", headers=headers
    ) as http:
        print(f"{contacts} contacts per call; decode time is the median of {repeat}")
        for label, fields in (("every field", PERSON_FIELDS), ("used only", WRITE_ANSWER_FIELDS)):
            mask = ",".join(fields)
            body = {"contacts": [{"contactPerson": person(i)} for i in range(contacts)]}
            created = await http.post(
                "v1/people:batchCreateContacts", json={**body, "readMask": mask}
            )
            created.raise_for_status()
            people = [r["person"] for r in created.json()["createdPeople"]]
            updates = {
                p["resourceName"]: {"etag": p["etag"], "biographies": [{"value": "Hello"}]}
                for p in people
            }
            updated = await http.post(
                "v1/people:batchUpdateContacts",
                json={"contacts": updates, "updateMask": "biographies", "readMask": mask},
            )
            updated.raise_for_status()
            for method, answer in (
                ("batchCreateContacts", created),
                ("batchUpdateContacts", updated),
            ):
                size = len(answer.content)
                print(
                    f"  {method:20} readMask {label:11} {size / 1024:8.1f} KiB "
                    f"({size / contacts:6.0f} B / contact), decode "
                    f"{decode_ms(answer.content, repeat):6.2f} ms"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.repeat))
