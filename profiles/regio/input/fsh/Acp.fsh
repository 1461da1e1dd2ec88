// ACP wishes: the four RIZA treatments (Reanimatie, IC-opname, Ziekenhuisopname, Antibiotica) on PZP.

ValueSet: RegioRizaTreatmentVS
Id: regio-riza-treatment
Title: "RIZA treatments"
Description: "The four treatments of the regional RIZA treatment-wish set: CPR, ICU admission, hospital admission, antibiotics."
* ^status = #active
* $snomed#89666000 "Cardiopulmonary resuscitation"
* $snomed#305351004 "Admit to ITU"
* $snomed#32485007 "Hospital admission"
* $snomed#281789004 "Antibiotic therapy"

Profile: RegioAcpTreatmentDirective
Parent: ACP-TreatmentDirective
Id: regio-acp-treatment-directive
Title: "Regional ACP treatment directive (RIZA)"
Description: "A PZP ACP-TreatmentDirective about one of the four RIZA treatments: the treatment is identified by a SNOMED CT code, and the date of the most recent discussion and at least one agreement party are recorded."
* ^status = #draft
* dateTime 1..1
* dateTime ^short = "MeestRecenteBespreekdatum (date of the most recent discussion)"
* provision 1..1
* provision.actor[agreementParty] 1..*
* provision.code 1..1
* provision.code.coding 1..*
* provision.code.coding ^slicing.discriminator.type = #value
* provision.code.coding ^slicing.discriminator.path = "code"
* provision.code.coding ^slicing.rules = #open
* provision.code.coding contains riza 1..1
* provision.code.coding[riza] from RegioRizaTreatmentVS (required)
* provision.code.coding[riza].system 1..1
* provision.code.coding[riza].system = $snomed
* provision.code.coding[riza].code 1..1
