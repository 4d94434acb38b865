from apps.common import serializers

from ..models import Topic


class TopicSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", queryset=Topic.objects.all(), allow_null=True,
                                          required=False)

    class Meta:
        model = Topic
        fields = ["id", "slug", "label_nb", "label_en", "description_nb", "description_en", "parent",
                  "sort_order"]
        read_only_fields = ["id"]

    def validate_parent(self, value):
        node = value
        while node is not None and self.instance is not None:
            if node.pk == self.instance.pk:
                raise serializers.ValidationError("A topic cannot be its own ancestor.", code="conflict")
            node = node.parent
        return value
