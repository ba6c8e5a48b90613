# Test policy: reports the data of ConfigMaps named "reach" so a test can see
# what a hostile chart's render produced.
package custom.dump

deny contains {"id": "custom-dump", "msg": json.marshal(input.content.data)} if {
	input.type == "kubernetes"
	input.content.kind == "ConfigMap"
	input.content.metadata.name == "reach"
}
