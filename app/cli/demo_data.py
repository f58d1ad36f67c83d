"""The demo business, its customers, catalog and documents, as plain data (loaded by app/demo.py).

Dates are days relative to the day the demo is loaded, so an overdue invoice stays overdue and
an open quote stays open whenever the demo is loaded. Prices are minor units (cents, pence);
discounts are whole percents; quantities are plain numbers (1.5 = one and a half hours).
"""

STAFF = {"email": "demo@example.com", "name": "Marta Martínez", "password": "demo-password-123"}

SETTINGS = {
    "name": "Taller Martínez S.L.",
    "tax_id": "B98123458",
    "address": "Calle de Sueca, 45\n46006 Valencia\nEspaña",
    "country": "ES",
    "iban": "ES9121000418450200051332",
    "bic": "CAIXESBB",   # the 8-letter form: the head office (XXX as the branch code is the same)
    "email": "hola@tallermartinez.example",
    "phone": "+34 963 12 34 56",
    "website": "https://tallermartinez.example",
    "notify_email": "avisos@tallermartinez.example",
    "default_currency": "EUR",
    "languages": "es,en,ca,fr,de,it,pt",
    "default_language": "es",
    "invoice_prefix": "F",
    "quote_prefix": "P",
    "order_prefix": "SO",
    "payment_terms_days": 30,
    "quote_validity_days": 30,
    "default_terms": ("Pago por transferencia a la cuenta indicada en un plazo de 30 días, "
                      "o con tarjeta desde el portal. Garantía de 3 años en herramienta eléctrica "
                      "según la legislación vigente."),
    "quote_to_order": True,
    "allow_partial_payments": True,
    "min_partial_amount": 5000,
    "stock_display": "level",
    "low_stock_threshold": 5,
    "sell_out_of_stock": False,
    "team_self_service": True,   # the demo's owners manage their team (roles, invitations)
}

# key: (name, rate in basis points, default)
TAXES = {
    "iva21": ("IVA", 2100, True),
    "iva10": ("IVA", 1000, False),
    "iva4": ("IVA", 400, False),
    "irpf": ("IRPF", -1500, False),
}

# "exempt": lines carry no Spanish VAT, and documents say why in their notes.
CONTACTS = [
    {"key": "levante", "kind": "company", "name": "Construcciones Levante S.A.", "tax_id": "A46028718",
     "email": "administracion@levante.example", "phone": "+34 961 45 67 89",
     "billing_address": "Avenida de Aragón, 30, 5.º\n46021 Valencia",
     "shipping_address": "Obra Parque Tecnológico, parcela 14\n46980 Paterna (Valencia)",
     "language": "es", "gateways": "stripe,paypal", "portal_enabled": True,
     "catalog_enabled": True, "discount_bp": 500,
     "notes": "Retención de IRPF del 15 % en servicios profesionales (proyectos y dirección).",
     # (name, email, language[, role]): an owner, and the buyer who asks for prices (issue 21's roles)
     "people": [("Ana Ferrer Llopis", "ana@demo.example", "es"),
                ("Miguel Soler Campos", "miguel@demo.example", "es", "buyer")]},
    {"key": "jordi", "kind": "person", "name": "Jordi Puig i Vidal", "tax_id": "47812360Y",
     "email": "jordi@demo.example", "phone": "+34 612 345 678",
     "billing_address": "Carrer de Sants, 112, 2n 1a\n08014 Barcelona",
     "shipping_address": "Carrer de Sants, 112, 2n 1a\n08014 Barcelona",
     "language": "ca", "gateways": "stripe", "portal_enabled": True, "catalog_enabled": True,
     "notes": "Autònom: fusteria i petites reformes.",
     "people": [("Jordi Puig i Vidal", "jordi@demo.example", "ca")]},
    {"key": "harbour", "kind": "company", "name": "Harbour Marine Supplies Ltd", "country": "GB",
     "tax_id": "GB123456789", "email": "accounts@harbourmarine.example", "phone": "+44 23 8012 3456",
     "billing_address": "Unit 4, Ocean Quay\nSouthampton SO14 3JX\nUnited Kingdom",
     "shipping_address": "Unit 4, Ocean Quay\nSouthampton SO14 3JX\nUnited Kingdom",
     "language": "en", "currency": "GBP", "gateways": "stripe,square", "portal_enabled": True,
     "catalog_enabled": False, "exempt": "Exportación de bienes exenta de IVA (art. 21 Ley 37/1992).",
     "notes": "Prices agreed in GBP. Ships by pallet from Valencia port.",
     "people": [("Emily Clarke", "emily@demo.example", "en"), ("Tom Hughes", "tom@demo.example", "en", "billing")]},
    {"key": "lucia", "kind": "person", "name": "Lucía Navarro Gil", "tax_id": "21456789C",
     "email": "lucia@demo.example", "phone": "+34 655 98 76 54",
     "billing_address": "Calle de Cuba, 18, pta. 7\n46006 Valencia",
     "shipping_address": "Calle de Cuba, 18, pta. 7\n46006 Valencia",
     "language": "es", "gateways": "", "portal_enabled": True, "catalog_enabled": True,
     "notes": "Particular. Reparaciones en vivienda con IVA reducido (10 %).",
     "people": [("Lucía Navarro Gil", "lucia@demo.example", "es")]},
    {"key": "dupont", "kind": "company", "name": "Ateliers Dupont SARL", "country": "FR", "tax_id": "FR40303265045",
     "email": "compta@dupont.example", "phone": "+33 4 68 12 34 56",
     "billing_address": "12 rue de la Fusterie\n66000 Perpignan\nFrance",
     "shipping_address": "12 rue de la Fusterie\n66000 Perpignan\nFrance",
     "language": "fr", "gateways": "", "portal_enabled": False, "catalog_enabled": False,
     "exempt": "Entrega intracomunitaria exenta de IVA (art. 25 Ley 37/1992). Autoliquidación.",
     "notes": "Portal pendiente de activar: todavía recibe las facturas por correo.",
     "people": [("Claire Dupont", "claire@demo.example", "fr")]},
]

# key: (name, parent key)
CATEGORIES = {
    "manual": ("Herramientas manuales", None),
    "llaves": ("Llaves y destornilladores", "manual"),
    "electricas": ("Herramientas eléctricas", None),
    "brocas": ("Brocas, discos y accesorios", "electricas"),
    "fijacion": ("Tornillería y fijaciones", None),
    "epi": ("Seguridad y protección laboral", None),
}

# (category, sku, name, price in cents before tax, stock, extra fields); tax IVA 21 % unless "taxes".
PRODUCTS = [
    ("manual", "HM-MART-500", "Martillo de carpintero 500 g, mango de fibra", 1495, 24, {}),
    ("manual", "HM-MAZA-1500", "Maza de albañil 1,5 kg", 1890, 12, {}),
    ("manual", "HM-SERR-550", "Serrucho de carpintero 550 mm", 1650, 9, {}),
    ("manual", "HM-CINT-8", "Cinta métrica 8 m con freno", 995, 40, {}),
    ("manual", "HM-NIVL-600", "Nivel de aluminio 600 mm, 3 burbujas", 2250, 0, {}),
    ("manual", "HM-CUTR-18", "Cúter profesional 18 mm con 5 cuchillas", 745, 55, {}),
    ("manual", "HM-ALIC-200", "Alicate universal 200 mm aislado 1000 V", 1880, 3, {}),
    ("manual", "HM-LIBR-SOLD", "Libro «Manual práctico de soldadura», 2.ª edición", 2400, 6,
     {"taxes": ["iva4"], "description": "Los libros llevan IVA superreducido del 4 %."}),
    ("llaves", "LL-JGO-COMB-12", "Juego de 12 llaves combinadas 6–22 mm", 4290, 15, {}),
    ("llaves", "LL-AJUS-250", "Llave ajustable 250 mm", 1475, 20, {}),
    ("llaves", "LL-CARR-94", "Maletín de carraca y vasos 1/4\"–1/2\", 94 piezas", 8950, 4, {}),
    ("llaves", "LL-ALLEN-9", "Juego de 9 llaves Allen largas", 1190, 30, {}),
    ("llaves", "LL-DEST-6", "Juego de 6 destornilladores de precisión", 1350, 0, {}),
    ("llaves", "LL-DINA-210", "Llave dinamométrica 40–210 Nm", 7900, 2, {}),
    ("electricas", "EL-TALA-18V", "Taladro percutor inalámbrico 18 V, 2 baterías 2,0 Ah", 15900, 8,
     {"description": "Portabrocas de 13 mm, 2 velocidades, maletín y cargador rápido."}),
    ("electricas", "EL-AMOL-125", "Amoladora angular 125 mm, 900 W", 6450, 11, {}),
    ("electricas", "EL-SIER-650", "Sierra de calar 650 W con maletín", 8990, 0, {}),
    ("electricas", "EL-LIJA-ORB", "Lijadora orbital 300 W", 5490, 6, {}),
    ("electricas", "EL-MART-SDS", "Martillo perforador SDS-Plus 800 W", 13900, 5, {}),
    ("electricas", "EL-SOLD-INV", "Equipo de soldadura inverter 160 A", 18900, 3,
     {"description": "Electrodo y TIG lift. Incluye pinza de masa, portaelectrodos y careta."}),
    ("electricas", "EL-PIST-CAL", "Pistola de aire caliente 2000 W", 3990, 14, {}),
    ("electricas", "EL-ATOR-12V", "Atornillador compacto 12 V (modelo descatalogado)", 6900, 7,
     {"active": False, "description": "Sustituido por el modelo de 18 V."}),
    ("brocas", "BR-JGO-HSS-19", "Juego de 19 brocas HSS para metal 1–10 mm", 2190, 25, {}),
    ("brocas", "BR-JGO-SDS-5", "Juego de 5 brocas SDS-Plus para hormigón", 2750, 18, {}),
    ("brocas", "BR-DISC-CORT-10", "Discos de corte inox 125 × 1 mm (caja de 10)", 1290, 60, {}),
    ("brocas", "BR-DISC-LAM", "Disco de láminas grano 80, 125 mm", 395, 0, {}),
    ("brocas", "BR-LIJA-50", "Hojas de lija para lijadora orbital, surtido (50 uds.)", 1450, 33, {}),
    ("brocas", "BR-PUNT-32", "Juego de 32 puntas de atornillar con portapuntas", 1690, 22, {}),
    ("fijacion", "FX-TORN-MAD-500", "Tornillos para madera 4 × 40 mm (caja de 500)", 1150, 80, {}),
    ("fijacion", "FX-TACO-NYL-100", "Tacos de nailon 8 mm (bolsa de 100)", 575, 120, {}),
    ("fijacion", "FX-ANCL-M10", "Anclaje de expansión M10 × 100 (caja de 25)", 2890, 10, {}),
    ("fijacion", "FX-TORN-AUTO-200", "Tornillos autorroscantes 4,2 × 16 mm (caja de 200)", 690, 0, {}),
    ("fijacion", "FX-ESCU-50", "Escuadras de refuerzo galvanizadas 50 mm (10 uds.)", 890, 44, {}),
    ("fijacion", "FX-VARI-M8", "Varilla roscada M8 × 1 m, cincada", 245, 150, {}),
    ("fijacion", "FX-SILI-300", "Silicona neutra transparente 300 ml", 525, 4, {}),
    ("epi", "EPI-GAFA-POLI", "Gafas de protección antivaho", 690, 70, {}),
    ("epi", "EPI-GUAN-NIT-12", "Guantes de nitrilo para mecánica, talla 9 (12 pares)", 1890, 16, {}),
    ("epi", "EPI-CASC-ABS", "Casco de obra ABS con ruleta", 1250, 0, {}),
    ("epi", "EPI-OREJ-SNR30", "Orejeras de protección SNR 30 dB", 1590, 9, {}),
    ("epi", "EPI-MASC-FFP2", "Mascarillas FFP2 (caja de 20)", 1390, 45, {}),
    ("epi", "EPI-CALZ-S3", "Botas de seguridad S3, talla 42", 5990, 5, {}),
    ("epi", "EPI-CHAL-AV", "Chaleco reflectante de alta visibilidad", 350, 200,
     {"visible": False, "description": "Solo en pedidos de empresa, por cajas de 20."}),
]


def item(sku, qty, disc=0, price=None):
    """A line for a catalog product: its name, price and taxes unless given."""
    return {"sku": sku, "qty": qty, "disc": disc, "price": price}


def text(description, qty, price, taxes=("iva21",), disc=0):
    """A free-text line (labour, transport, a project)."""
    return {"description": description, "qty": qty, "price": price, "taxes": list(taxes), "disc": disc}


SERVICE = ("iva21", "irpf")   # professional services to a Spanish company: VAT and withholding
HOME = ("iva10",)             # repairs in a private home: reduced VAT

# Each document: kind, contact, status, issued (days from today), lines; optional due (days
# after issue, default payment terms), payments [(gateway, "all" | percent, days after issue)],
# comments [(author email or "staff", days after issue, body)], decision, source (another key).
DOCUMENTS = [
    # --- invoices ---
    {"kind": "invoice", "contact": "lucia", "status": "paid", "issued": -100,
     "lines": [item("EPI-OREJ-SNR30", 1), item("HM-CUTR-18", 1)],
     "payments": [("stripe", "all", 2)]},
    {"kind": "invoice", "contact": "levante", "status": "paid", "issued": -80, "reference": "PED-2231",
     "lines": [item("EL-TALA-18V", 2, disc=5), item("BR-JGO-SDS-5", 2),
               text("Revisión y puesta a punto de maquinaria en obra", 4, 4500, SERVICE)],
     "payments": [("manual", "all", 28)]},
    {"kind": "invoice", "contact": "dupont", "status": "open", "issued": -75,
     "lines": [item("EL-AMOL-125", 1), item("BR-DISC-CORT-10", 5)]},
    {"kind": "invoice", "contact": "jordi", "status": "paid", "issued": -70,
     "lines": [item("EL-SOLD-INV", 1), item("EPI-GUAN-NIT-12", 1), item("EPI-GAFA-POLI", 2)],
     "payments": [("stripe", "all", 1)],
     "comments": [("jordi@demo.example", 0, "Gràcies! Ja he pagat amb targeta.")]},
    {"kind": "invoice", "contact": "lucia", "status": "paid", "issued": -62,
     "lines": [text("Reparación de persiana y cerradura en vivienda (mano de obra, horas)", 2, 3800, HOME),
               text("Cerradura de seguridad de 5 puntos, instalada", 1, 6400, HOME)],
     "payments": [("manual", 50, 3), ("stripe", "all", 20)]},
    {"kind": "invoice", "contact": "harbour", "status": "paid", "issued": -55, "reference": "HMS-PO-0412",
     "lines": [item("LL-CARR-94", 3, price=7700), item("LL-DINA-210", 2, price=6800)],
     "payments": [("stripe", "all", 9)]},
    {"kind": "invoice", "contact": "levante", "status": "open", "issued": -50, "reference": "PED-2266",
     "lines": [item("FX-ANCL-M10", 4), item("FX-VARI-M8", 30, disc=10),
               text("Transporte a obra (Paterna)", 1, 3500)],
     "comments": [("ana@demo.example", 25, "Hemos recibido todo el material. El pago sale esta semana."),
                  ("staff", 26, "Gracias, Ana. Quedamos a la espera.")]},
    {"kind": "invoice", "contact": "levante", "status": "paid", "issued": -44, "source": "so-levante-discs",
     "lines": [item("BR-DISC-CORT-10", 10, disc=5), item("EPI-MASC-FFP2", 5)],
     "payments": [("manual", "all", 15)]},
    {"kind": "invoice", "contact": "jordi", "status": "void", "issued": -40,
     "notes": "Anulada: emitida por duplicado.",
     "lines": [item("EL-SIER-650", 1)]},
    {"kind": "invoice", "contact": "jordi", "status": "open", "issued": -20,
     "lines": [item("LL-JGO-COMB-12", 1), item("EL-MART-SDS", 1), item("BR-PUNT-32", 2)],
     "payments": [("manual", 40, 2)]},
    {"kind": "invoice", "contact": "levante", "status": "open", "issued": -15, "reference": "PED-2301",
     "lines": [text("Proyecto técnico de instalación de taller de mantenimiento", 1, 120000, SERVICE),
               text("Dirección de montaje (horas)", 10, 5500, SERVICE)],
     "payments": [("stripe", 50, 4)]},
    {"kind": "invoice", "contact": "lucia", "status": "open", "issued": -5,
     "lines": [item("HM-MART-500", 1), item("HM-CINT-8", 1), item("FX-TACO-NYL-100", 1),
               text("Montaje de baldas en vivienda (horas)", 1.5, 3800, HOME)],
     "comments": [("lucia@demo.example", 1, "¿Puedo pagar la mitad ahora y el resto a fin de mes?"),
                  ("staff", 1, "Claro, Lucía: el portal admite pagos parciales desde 50 €.")]},
    {"kind": "invoice", "contact": "harbour", "status": "open", "issued": -3,
     "lines": [item("EPI-CALZ-S3", 12, disc=10, price=5200), item("EPI-MASC-FFP2", 10, price=1200)]},
    {"kind": "invoice", "contact": "levante", "status": "open", "issued": -2,
     "lines": [item("HM-LIBR-SOLD", 3), item("EPI-GAFA-POLI", 10)]},
    {"kind": "invoice", "contact": "levante", "status": "draft", "issued": 0,
     "lines": [text("Mantenimiento preventivo trimestral de maquinaria", 1, 36000, SERVICE)]},
    # --- quotes ---
    {"kind": "quote", "contact": "dupont", "status": "open", "issued": -60,
     "lines": [item("EL-SOLD-INV", 2), item("HM-LIBR-SOLD", 2)]},
    {"kind": "quote", "contact": "jordi", "status": "open", "issued": -50,
     "lines": [item("EL-LIJA-ORB", 1), item("BR-LIJA-50", 2)]},
    {"key": "p-levante-epi", "kind": "quote", "contact": "levante", "status": "accepted", "issued": -35,
     "lines": [item("EPI-CALZ-S3", 20, disc=15), item("EPI-CASC-ABS", 20), item("EPI-CHAL-AV", 20)],
     "decision": {"decision": "accepted", "by": "ana@demo.example", "signer": "Ana Ferrer Llopis",
                  "po": "PED-2298", "after": 3}},
    {"kind": "quote", "contact": "jordi", "status": "declined", "issued": -30,
     "lines": [item("EL-SIER-650", 1), item("LL-DEST-6", 1)],
     "decision": {"decision": "declined", "by": "jordi@demo.example", "signer": "Jordi Puig i Vidal",
                  "reason": "Ho deixem per a l'any vinent.", "after": 5}},
    {"kind": "quote", "contact": "harbour", "status": "open", "issued": -10,
     "lines": [item("EL-SOLD-INV", 4, price=16500),
               text("Delivery to Southampton (one pallet, door to door)", 1, 24000, ())],
     "comments": [("emily@demo.example", 2, "Could you confirm the welders come with UK plugs?"),
                  ("staff", 3, "Yes, Emily: we ship them with UK plugs and English manuals.")]},
    {"kind": "quote", "contact": "levante", "status": "open", "issued": -6,
     "lines": [item("EL-MART-SDS", 3, disc=8), item("EL-AMOL-125", 3, disc=8), item("BR-JGO-SDS-5", 3)],
     "comments": [("miguel@demo.example", 1, "¿Mejoráis el precio si añadimos cinco taladros de 18 V?"),
                  ("staff", 2, "Sí: con cinco taladros aplicamos un 12 % a toda la maquinaria. "
                               "Os preparamos una versión nueva.")]},
    {"kind": "quote", "contact": "jordi", "status": "open", "issued": -4,
     "lines": [text("Curs de soldadura al taller (4 hores, 1 persona)", 1, 18000),
               item("HM-LIBR-SOLD", 1)]},
    {"kind": "quote", "contact": "lucia", "status": "draft", "issued": -1,
     "lines": [text("Instalación de estanterías metálicas en trastero", 1, 28000, HOME),
               item("FX-ESCU-50", 2), item("FX-TORN-MAD-500", 1)]},
    # --- orders ---
    {"kind": "order", "contact": "jordi", "status": "delivered", "issued": -65,
     "lines": [item("HM-SERR-550", 1), item("HM-MART-500", 1), item("FX-TORN-MAD-500", 1)]},
    {"key": "so-levante-discs", "kind": "order", "contact": "levante", "status": "delivered",
     "issued": -45, "lines": [item("BR-DISC-CORT-10", 10, disc=5), item("EPI-MASC-FFP2", 5)]},
    {"kind": "order", "contact": "harbour", "status": "delivered", "issued": -40,
     "reference": "HMS-PO-0431", "lines": [item("FX-ANCL-M10", 20, price=2500)]},
    {"kind": "order", "contact": "levante", "status": "confirmed", "issued": -32, "source": "p-levante-epi",
     "reference": "PED-2298",
     "lines": [item("EPI-CALZ-S3", 20, disc=15), item("EPI-CASC-ABS", 20), item("EPI-CHAL-AV", 20)]},
    {"kind": "order", "contact": "lucia", "status": "cancelled", "issued": -18,
     "notes": "Cancelado a petición de la clienta.", "lines": [item("EL-PIST-CAL", 1)]},
    {"kind": "order", "contact": "jordi", "status": "shipped", "issued": -8,
     "lines": [item("FX-TORN-MAD-500", 2), item("FX-ESCU-50", 3), item("LL-ALLEN-9", 1)],
     "comments": [("jordi@demo.example", 2, "Quan arribarà la comanda?"),
                  ("staff", 2, "Surt demà amb missatgeria: us enviem el número de seguiment.")]},
    {"kind": "order", "contact": "lucia", "status": "open", "issued": -2,
     "lines": [item("HM-CUTR-18", 2), item("EPI-GUAN-NIT-12", 1)]},
    {"kind": "order", "contact": "levante", "status": "open", "issued": -1,
     "lines": [item("HM-ALIC-200", 2), item("FX-SILI-300", 3)]},
]
