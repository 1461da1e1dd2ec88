// Nursing transfer: an R4 document (Bundle + Composition) on the nl-core zibs with the eOverdracht 4.x sections.
// Section codes are those of eOverdracht 4.0 (nictiz.fhir.nl.stu3.eoverdracht 1.0.0-rc.23); see README.md.

RuleSet: TransferSection(name, code, display, min)
* section[{name}] {min}..1
* section[{name}].code 1..1
* section[{name}].code = $snomed#{code} "{display}"
* section[{name}].entry 1..*

Profile: RegioNursingTransferComposition
Parent: Composition
Id: regio-nursing-transfer-composition
Title: "Regional nursing transfer (eOverdracht) composition"
Description: "Nursing transfer (verpleegkundige overdracht) at discharge or transfer, as an R4 document on the nl-core zibs with the sections of eOverdracht 4.x."
* ^status = #draft
* status = #final
* type = $snomed#11171000146100 "Verpleegkundige overdracht"
* subject 1..1
* subject only Reference(nl-core-Patient)
* author only Reference(nl-core-HealthProfessional-PractitionerRole or nl-core-HealthcareProvider-Organization)
* section 1..*
* section ^slicing.discriminator.type = #pattern
* section ^slicing.discriminator.path = "code"
* section ^slicing.rules = #open
* section contains administrativeData 1..1 and generalPatientContext 0..1 and medicalContext 1..1 and carePlan 1..1 and medication 0..1 and wounds 0..1 and functionalStatus 0..1
* insert TransferSection(administrativeData, 405624007, Administrative documentation, 1)
* section[administrativeData].entry only Reference(nl-core-Patient or nl-core-ContactPerson or nl-core-HealthcareProvider-Organization or nl-core-HealthProfessional-PractitionerRole)
* insert TransferSection(generalPatientContext, 109481000146101, Algemene patiëntcontext, 0)
* section[generalPatientContext].entry only Reference(nl-core-LivingSituation or nl-core-AdvanceDirective or nl-core-TreatmentDirective2 or nl-core-ContactPerson)
* insert TransferSection(medicalContext, 371524004, Clinical report, 1)
* section[medicalContext].entry only Reference(nl-core-Problem or nl-core-AllergyIntolerance or nl-core-Alert or nl-core-HealthProfessional-PractitionerRole)
* insert TransferSection(carePlan, 773130005, Nursing care plan, 1)
* section[carePlan].entry only Reference(nl-core-NursingIntervention or nl-core-TreatmentObjective or nl-core-Problem)
* section[medication] 0..1
* section[medication].code 1..1
* section[medication].code = $loinc#10160-0 "History of Medication use Narrative"
* section[medication].entry 1..*
* section[medication].entry only Reference(RegioMedicationOverview or mp-MedicationAgreement or mp-MedicationUse2 or mp-AdministrationAgreement)
* insert TransferSection(wounds, 106076001, Skin finding, 0)
* section[wounds].entry only Reference(nl-core-Wound or nl-core-PressureUlcer or nl-core-Burnwound)
* insert TransferSection(functionalStatus, 5531000179105, Gezondheidstoestand, 0)
* section[functionalStatus].entry only Reference(nl-core-FunctionalOrMentalStatus or nl-core-Mobility)

Profile: RegioNursingTransferBundle
Parent: Bundle
Id: regio-nursing-transfer-bundle
Title: "Regional nursing transfer document"
Description: "The document Bundle of a nursing transfer: the RegioNursingTransferComposition first, then the resources it references."
* ^status = #draft
* identifier 1..1
* type = #document
* timestamp 1..1
* entry 2..*
* entry.fullUrl 1..1
* entry.resource 1..1
* entry ^slicing.discriminator.type = #type
* entry ^slicing.discriminator.path = "resource"
* entry ^slicing.rules = #open
* entry ^slicing.ordered = false
* entry contains composition 1..1 and patient 1..1
* entry[composition].resource only RegioNursingTransferComposition
* entry[patient].resource only nl-core-Patient
