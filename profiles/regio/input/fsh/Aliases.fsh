Alias: $snomed = http://snomed.info/sct
Alias: $loinc = http://loinc.org
Alias: $v3-RoleCode = http://terminology.hl7.org/CodeSystem/v3-RoleCode
Alias: $list-mode = http://hl7.org/fhir/list-mode
