def test_app_serves_openapi(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/appointment-events" in response.json["paths"]
