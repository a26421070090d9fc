"""The CRM vocabulary: header aliases of HubSpot's and Salesforce's exports, and their
industry and country values mapped to the options of icp-core's questions.

Kept apart from the reading (``survey.customers``) because it is data, not logic: a new
export layout or industry name is a line here.
"""

from __future__ import annotations

import re

FIELDS = ("id", "name", "revenue", "deals", "customer_since")
"""Account fields a column can map to; any other target is a question id."""

INDUSTRY_QUESTION = "industry"
SIZE_QUESTION = "company_size"
REGION_QUESTION = "regions"


def squeeze(text: str) -> str:
    """A header or value as compared: case, spacing and punctuation aside."""
    return re.sub(r"[\W_]+", "", str(text).casefold())


# Header aliases per field, squeezed. Earlier aliases win when a file has several.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("recordid", "companyid", "accountid", "id"),
    "name": ("companyname", "accountname", "name", "company", "account"),
    "revenue": ("totalrevenue", "revenue", "totalclosedwonamount", "closedwonamount", "closedwonrevenue"),
    "annual_revenue": ("annualrevenue",),
    "deals": ("numberofassociateddeals", "numberofdeals", "deals", "dealcount", "closedwondeals"),
    "customer_since": ("becameacustomerdate", "customersince", "closedate"),
    INDUSTRY_QUESTION: ("industry",),
    SIZE_QUESTION: ("numberofemployees", "employees", "employeecount"),
    REGION_QUESTION: ("countryregion", "country", "billingcountry", "shippingcountry"),
}
HUBSPOT_MARKS = frozenset({"recordid", "countryregion", "totalrevenue", "numberofassociateddeals",
                           "becameacustomerdate"})
SALESFORCE_MARKS = frozenset({"accountid", "billingcountry", "accountname", "annualrevenue"})

# HubSpot's industry values (labels; the internal names like COMPUTER_SOFTWARE squeeze the
# same) and Salesforce's standard Industry picklist, to the options of icp-core's industry
# question. Values not listed leave the trait unknown (with a warning).
INDUSTRY_VALUES: dict[str, str] = {
    **dict.fromkeys(["Computer Software", "Internet", "Information Technology and Services",
                     "Computer Networking", "Computer & Network Security", "Computer Games",
                     "Technology", "Software", "SaaS"], "software"),
    **dict.fromkeys(["Financial Services", "Banking", "Insurance", "Finance", "Investment Banking",
                     "Investment Management", "Venture Capital & Private Equity", "Accounting",
                     "Capital Markets"], "financial_services"),
    **dict.fromkeys(["Hospital & Health Care", "Healthcare", "Medical Devices", "Medical Practice",
                     "Pharmaceuticals", "Biotechnology", "Health, Wellness and Fitness",
                     "Mental Health Care"], "healthcare"),
    **dict.fromkeys(["Manufacturing", "Machinery", "Mechanical or Industrial Engineering",
                     "Industrial Automation", "Automotive", "Chemicals", "Electrical/Electronic Manufacturing",
                     "Aviation & Aerospace", "Engineering", "Construction", "Apparel",
                     "Computer Hardware", "Semiconductors", "Electronics",
                     "Food Production", "Plastics", "Paper & Forest Products"], "manufacturing"),
    **dict.fromkeys(["Retail", "Consumer Goods", "Consumer Electronics", "Apparel & Fashion",
                     "Luxury Goods & Jewelry", "Food & Beverages", "Food & Beverage", "Wholesale",
                     "Sporting Goods", "Supermarkets", "E-Commerce"], "retail"),
    **dict.fromkeys(["Management Consulting", "Consulting", "Legal Services", "Law Practice",
                     "Marketing and Advertising", "Staffing and Recruiting", "Human Resources",
                     "Professional Training & Coaching", "Outsourcing/Offshoring",
                     "Design", "Architecture & Planning", "Research"], "professional_services"),
    **dict.fromkeys(["Education Management", "Higher Education", "E-Learning",
                     "Primary/Secondary Education", "Education"], "education"),
    **dict.fromkeys(["Government Administration", "Government", "Public Policy", "Military",
                     "Law Enforcement", "Public Safety", "Government Relations"], "public_sector"),
    **dict.fromkeys(["Media", "Entertainment", "Media Production", "Online Media", "Broadcast Media",
                     "Publishing", "Newspapers", "Music", "Motion Pictures and Film",
                     "Recreation", "Computer Games & Media"], "media"),
    **dict.fromkeys(["Other", "Not For Profit", "Nonprofit Organization Management", "Agriculture",
                     "Energy", "Utilities", "Oil & Energy", "Transportation", "Shipping",
                     "Logistics and Supply Chain", "Hospitality", "Real Estate", "Environmental",
                     "Environmental Services", "Telecommunications", "Communications",
                     "Wireless"], "other"),
}

_NA = "north_america"
_LATAM = "latin_america"
_UK = "uk_ireland"
_EU = "europe"
_MEA = "mea"
_APAC = "apac"
_ANZ = "anz"
# Country names and ISO 3166 alpha-2/alpha-3 codes to the regions of icp-core.
COUNTRY_REGIONS: dict[str, str] = {
    **dict.fromkeys(["United States", "United States of America", "USA", "US", "U.S.", "U.S.A.",
                     "Canada", "CA", "CAN"], _NA),
    **dict.fromkeys(["Mexico", "MX", "MEX", "Brazil", "BR", "BRA", "Argentina", "AR", "ARG",
                     "Chile", "CL", "CHL", "Colombia", "CO", "COL", "Peru", "PE", "PER",
                     "Uruguay", "UY", "Costa Rica", "CR", "Panama", "PA", "Ecuador", "EC"], _LATAM),
    **dict.fromkeys(["United Kingdom", "UK", "GB", "GBR", "Great Britain", "England", "Scotland",
                     "Wales", "Northern Ireland", "Ireland", "IE", "IRL"], _UK),
    **dict.fromkeys(["Germany", "DE", "DEU", "France", "FR", "FRA", "Netherlands", "NL", "NLD",
                     "Belgium", "BE", "BEL", "Spain", "ES", "ESP", "Italy", "IT", "ITA",
                     "Portugal", "PT", "PRT", "Switzerland", "CH", "CHE", "Austria", "AT", "AUT",
                     "Sweden", "SE", "SWE", "Norway", "NO", "NOR", "Denmark", "DK", "DNK",
                     "Finland", "FI", "FIN", "Poland", "PL", "POL", "Czech Republic", "Czechia",
                     "CZ", "Hungary", "HU", "Romania", "RO", "Greece", "GR", "Luxembourg", "LU",
                     "Estonia", "EE", "Latvia", "LV", "Lithuania", "LT", "Iceland", "IS"], _EU),
    **dict.fromkeys(["United Arab Emirates", "UAE", "AE", "Saudi Arabia", "SA", "Israel", "IL",
                     "Qatar", "QA", "Egypt", "EG", "South Africa", "ZA", "Nigeria", "NG",
                     "Kenya", "KE", "Morocco", "MA", "Turkey", "Türkiye", "TR"], _MEA),
    **dict.fromkeys(["Japan", "JP", "JPN", "China", "CN", "CHN", "India", "IN", "IND",
                     "Singapore", "SG", "SGP", "South Korea", "Korea", "KR", "Hong Kong", "HK",
                     "Taiwan", "TW", "Indonesia", "ID", "Malaysia", "MY", "Thailand", "TH",
                     "Vietnam", "VN", "Philippines", "PH"], _APAC),
    **dict.fromkeys(["Australia", "AU", "AUS", "New Zealand", "NZ", "NZL"], _ANZ),
}

BUILTIN_VALUES: dict[str, dict[str, str]] = {
    INDUSTRY_QUESTION: {squeeze(k): v for k, v in INDUSTRY_VALUES.items()},
    REGION_QUESTION: {squeeze(k): v for k, v in COUNTRY_REGIONS.items()},
}
