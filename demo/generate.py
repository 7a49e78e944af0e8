#!/usr/bin/env python3
"""Generates the demo data set in demo/data (committed; rerun to regenerate, output is deterministic).

A small shop: customers, the products they buy, and orders referencing both, plus an update
batch for the orders table that changes some existing orders (same order_id) and adds new ones,
which the demo applies as an upsert.
"""
import csv
import datetime
import os
import random

random.seed(20261121)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
os.makedirs(OUT, exist_ok=True)

FIRST = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Edsger", "Margaret", "Donald", "Frances",
         "John", "Radia", "Dennis", "Hedy", "Tim", "Sophie", "Niklaus", "Karen", "Bjarne", "Leslie"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Dijkstra", "Hamilton", "Knuth",
        "Allen", "Backus", "Perlman", "Ritchie", "Lamarr", "Berners-Lee", "Wilson", "Wirth", "Spärck Jones",
        "Stroustrup", "Lamport"]
COUNTRIES = ["DE", "US", "HU", "FR", "GB", "NL", "SE", "JP", "BR", "IN"]
CATEGORIES = {"books": (8, 60), "games": (15, 80), "tools": (5, 250), "garden": (3, 120), "music": (1, 40)}
STATUSES = ["placed", "paid", "shipped", "delivered"]

customers = []
for cid in range(1, 601):
    name = f"{random.choice(FIRST)} {random.choice(LAST)}"
    signup = datetime.date(2023, 1, 1) + datetime.timedelta(days=random.randrange(0, 700))
    customers.append([cid, name, random.choice(COUNTRIES), signup.isoformat(),
                      "true" if random.random() < 0.2 else "false"])

products = []
for pid in range(1, 121):
    cat = random.choice(list(CATEGORIES))
    lo, hi = CATEGORIES[cat]
    products.append([pid, f"{cat[:-1] if cat.endswith('s') else cat} #{pid:03d}", cat,
                     f"{random.uniform(lo, hi):.2f}"])

orders = []
start = datetime.datetime(2024, 1, 1, 8, 0, 0)
for oid in range(1, 4001):
    ts = start + datetime.timedelta(minutes=random.randrange(0, 60 * 24 * 300))
    p = random.choice(products)
    qty = random.choice([1, 1, 1, 2, 2, 3, 5])
    amount = float(p[3]) * qty
    status = random.choices(STATUSES, weights=[1, 2, 3, 6])[0]
    orders.append([oid, random.randrange(1, 601), p[0], qty, f"{amount:.2f}", status,
                   ts.strftime("%Y-%m-%d %H:%M:%S"), ts.strftime("%Y-%m-%d %H:%M:%S")])

# The update batch: 300 existing orders move forward in their lifecycle (later updated_at),
# 10 of them twice in the same batch (the last one wins), and 100 new orders arrive.
updates = []
for o in random.sample([o for o in orders if o[5] != "delivered"], 300):
    u = list(o)
    u[5] = STATUSES[min(STATUSES.index(o[5]) + 1, 3)]
    u[7] = "2024-11-01 12:00:00"
    updates.append(u)
for u in list(updates[:10]):
    again = list(u)
    again[5] = "delivered"
    again[7] = "2024-11-02 09:30:00"
    updates.append(again)
# 20 stale updates: an older updated_at than the stored row, so --newer-than skips them.
for o in random.sample([o for o in orders if o[5] == "delivered"], 20):
    u = list(o)
    u[5] = "placed"
    u[7] = "2023-12-31 23:59:59"
    updates.append(u)
for oid in range(4001, 4101):
    ts = datetime.datetime(2024, 11, 1, 10, 0, 0) + datetime.timedelta(minutes=oid - 4000)
    p = random.choice(products)
    updates.append([oid, random.randrange(1, 601), p[0], 1, p[3], "placed", ts.strftime("%Y-%m-%d %H:%M:%S"),
                    ts.strftime("%Y-%m-%d %H:%M:%S")])


def write(name, header, rows):
    with open(os.path.join(OUT, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


write("customers.csv", ["customer_id", "name", "country", "signup_date", "is_business"], customers)
write("products.csv", ["product_id", "name", "category", "price"], products)
write("orders.csv", ["order_id", "customer_id", "product_id", "quantity", "amount", "status", "ordered_at",
                     "updated_at"], orders)
write("orders_update.csv", ["order_id", "customer_id", "product_id", "quantity", "amount", "status",
                            "ordered_at", "updated_at"], updates)
print(f"wrote {len(customers)} customers, {len(products)} products, {len(orders)} orders, "
      f"{len(updates)} order updates to {OUT}")
