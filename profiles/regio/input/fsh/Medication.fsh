// Medication overview: what a receiving party needs from MP9 medication agreements, and the overview list.

Profile: RegioMedicationAgreement
Parent: mp-MedicationAgreement
Id: regio-medication-agreement
Title: "Regional medication agreement"
Description: "An MP9 medication agreement with the elements a receiving party needs: period of use, dosage and prescriber."
* ^status = #draft
* extension[periodOfUse] 1..1
* extension[periodOfUse].valuePeriod 1..1
* extension[periodOfUse].valuePeriod.start 1..1
* dosageInstruction 1..*
* requester 1..1

Extension: RegioVerificationDate
Id: regio-verification-date
Title: "Verification date"
Description: "When the medication overview was last verified with the patient or a care provider."
Context: List
* value[x] only dateTime
* valueDateTime 1..1

Profile: RegioMedicationOverview
Parent: List
Id: regio-medication-overview
Title: "Regional medication overview"
Description: "The current medication overview (actueel medicatieoverzicht) of a patient: references the MP9 medication agreements, administration agreements and medication use statements, and carries the date it was last verified."
* ^status = #draft
* extension contains RegioVerificationDate named verificationDate 1..1
* status = #current
* mode = #snapshot
* code 1..1
* code = $loinc#10160-0
* subject 1..1
* subject only Reference(nl-core-Patient)
* date 1..1
* source 0..1
* entry 1..*
* entry.item only Reference(RegioMedicationAgreement or mp-AdministrationAgreement or mp-MedicationUse2)
