#!/usr/bin/env python3
"""Arrange a world on a fresh server for schemathesis: the first owner signed
in (one-time password replaced), a brand, a store, a stamp program with a
reward, a POS terminal key, a cashier who accepted an invitation and a
verified customer holding a card. Prints shell assignments of the four
credentials and the ids the runs use.

    scripts/schemathesis/world.py BASE_URL DATA_DIR ONE_TIME_PASSWORD
"""

import email
import glob
import json
import os
import sys
import time
import urllib.request

BASE, DATA, OTP = sys.argv[1], sys.argv[2], sys.argv[3]
OWNER = "owner@stampede.local"
PASSWORD = "a much better password"


def call(method, path, body=None, token=None, headers=None, expect=(200, 201, 202, 204)):
    req = urllib.request.Request(BASE + path, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(req, data) as res:
            raw = res.read()
            status = res.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    if status not in expect:
        sys.exit(f"{method} {path}: {status} {raw[:300]!r}")
    return json.loads(raw) if raw else {}


def token_mailed_to(to, subject):
    """The `token=` of the newest mail to `to` whose subject has `subject`."""
    for _ in range(50):
        for path in sorted(glob.glob(os.path.join(DATA, "mail", "*.eml")), key=os.path.getmtime, reverse=True):
            msg = email.message_from_binary_file(open(path, "rb"))
            subject_header = str(email.header.make_header(email.header.decode_header(msg["subject"])))
            if to not in msg["to"] or subject not in subject_header:
                continue
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode()
                    return text.split("token=", 1)[1].split()[0]
        time.sleep(0.1)
    sys.exit(f"no mail to {to} about {subject!r}")


def main():
    first = call("POST", "/v1/auth/staff/login", {"email": OWNER, "password": OTP})
    tokens = call(
        "POST",
        "/v1/auth/staff/password",
        {"current_password": OTP, "new_password": PASSWORD},
        token=first["access_token"],
    )
    owner = tokens["access_token"]
    business = call("GET", "/v1/businesses", token=owner)["items"][0]["id"]
    brand = call("POST", f"/v1/businesses/{business}/brands", {"name": "Uno"}, token=owner)["id"]
    store = call(
        "POST",
        f"/v1/businesses/{business}/stores",
        {"brand_id": brand, "name": "Main Street", "timezone": "Europe/Madrid"},
        token=owner,
    )["id"]
    rules = {"kind": "stamps", "stamps_per_reward": 10, "max_stamps_per_visit": 2}
    program = call(
        "POST", f"/v1/businesses/{business}/programs", {"name": "Coffee card", "rules": rules}, token=owner
    )["id"]
    call("POST", f"/v1/programs/{program}/rewards", {"name": "Free coffee", "cost": 5}, token=owner)
    terminal = call("POST", f"/v1/stores/{store}/terminals", {"name": "Till 1"}, token=owner)["api_key"]

    cashier_email = "cashier@stampede.local"
    call(
        "POST",
        f"/v1/businesses/{business}/invitations",
        {"email": cashier_email, "role": "cashier", "store_id": store},
        token=owner,
    )
    invited = token_mailed_to(cashier_email, "invited you")
    cashier = call(
        "POST",
        "/v1/auth/staff/invitations/accept",
        {"token": invited, "name": "Cas", "password": "the cashier's password"},
    )["access_token"]

    customer_email = "customer@stampede.local"
    call(
        "POST",
        "/v1/auth/customers/register",
        {"email": customer_email, "password": "the customer's password", "name": "Mo"},
    )
    verify = token_mailed_to(customer_email, "onfirm")
    call("POST", "/v1/auth/customers/verify-email", {"token": verify})
    customer = call(
        "POST", "/v1/auth/customers/login", {"email": customer_email, "password": "the customer's password"}
    )["access_token"]
    call("POST", f"/v1/programs/{program}/join", {}, token=customer)

    for name, value in [
        ("OWNER", owner),
        ("CASHIER", cashier),
        ("TERMINAL", terminal),
        ("CUSTOMER", customer),
        ("BUSINESS", business),
        ("STORE", store),
        ("PROGRAM", program),
    ]:
        print(f"{name}={value}")


main()
