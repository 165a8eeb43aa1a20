package values

// Merge deep-merges layers from lowest to highest precedence into a new
// Values. Maps merge key by key; lists, scalars and nulls of a higher layer
// replace what is below. The result shares nothing with the layers.
func Merge(layers ...Values) Values {
	out := map[string]any{}
	for _, layer := range layers {
		mergeInto(out, layer)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, sv := range src {
		srcMap, srcIsMap := asMap(sv)
		dstMap, dstIsMap := asMap(dst[k])
		if srcIsMap && dstIsMap {
			mergeInto(dstMap, srcMap)
			continue
		}
		if srcIsMap {
			dst[k] = copyMap(srcMap)
			continue
		}
		dst[k] = copyAny(sv)
	}
}
