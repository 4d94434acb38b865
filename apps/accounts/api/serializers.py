from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from drf_spectacular.utils import extend_schema_field
from apps.common import serializers

from apps.common.roles import is_curator

from .. import services


class UserSerializer(serializers.ModelSerializer):
    is_curator = serializers.BooleanField(required=False)
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "last_name", "email", "is_active", "is_superuser",
                  "is_curator", "password", "date_joined", "last_login"]
        read_only_fields = ["id", "date_joined", "last_login"]

    def to_representation(self, user):
        data = super().to_representation(user)
        data["is_curator"] = is_curator(user)
        return data

    def validate_password(self, value):
        validate_password(value)
        return value

    def create(self, validated_data):
        return services.save_user(self.context["request"].user, validated_data)

    def update(self, instance, validated_data):
        return services.save_user(self.context["request"].user, validated_data, instance)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField(allow_null=True)
    is_authenticated = serializers.BooleanField()
    is_curator = serializers.BooleanField()
    is_admin = serializers.BooleanField()
