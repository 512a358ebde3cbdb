async def test_health(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_create_and_list_employee(tenant):
    emp = await tenant.add_employee("zed")
    resp = await tenant.client.get("/api/v1/employees", headers=tenant.hr)
    assert resp.status_code == 200
    assert [e["id"] for e in resp.json()["items"]] == [emp["id"]]
