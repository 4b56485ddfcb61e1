"""Device-model keys to and from their OCPP 2.0.1 types (ComponentType, VariableType), for every handler
that addresses a component/variable: GetVariables, reports, monitoring."""

from __future__ import annotations

from evse.devicemodel.definitions import ComponentKey, VariableKey
from evse.devicemodel.operations import ComponentVariableSelector
from evse.ocpp.v201 import messages as m


def component_key(component: m.ComponentType) -> ComponentKey:
    evse = component.evse
    return ComponentKey(
        component.name,
        component.instance,
        evse.id if evse is not None else None,
        evse.connectorId if evse is not None else None,
    )


def component_type(key: ComponentKey) -> m.ComponentType:
    evse = m.EVSEType(id=key.evse_id, connectorId=key.connector_id) if key.evse_id is not None else None
    return m.ComponentType(name=key.name, instance=key.instance, evse=evse)


def variable_type(key: VariableKey) -> m.VariableType:
    return m.VariableType(name=key.name, instance=key.instance)


def selector(item: m.ComponentVariableType) -> ComponentVariableSelector:
    """A GetReport / GetMonitoringReport componentVariable: the component, and the variable when named."""
    variable = item.variable
    return ComponentVariableSelector(
        component_key(item.component),
        VariableKey(variable.name, variable.instance) if variable is not None else None,
    )
